SELECT id FROM invites WHERE email IN (SELECT u.email FROM users u WHERE u.tenant_id = $1)
