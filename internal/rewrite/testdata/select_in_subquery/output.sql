SELECT id FROM users WHERE substring(email from 24 for 16) IN (SELECT substring(email from 24 for 16) FROM invites WHERE invited_by = $1)
