SELECT id FROM invites WHERE substring(email from 24 for 16) IN (SELECT substring(u.email from 24 for 16) FROM users u WHERE u.tenant_id = $1)
