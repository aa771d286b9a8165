SELECT id FROM users WHERE email IN (SELECT email FROM invites WHERE invited_by = $1)
