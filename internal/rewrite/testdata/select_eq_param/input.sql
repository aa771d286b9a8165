SELECT id, email, name FROM users WHERE email = $1 AND tenant_id = $2
