SELECT id, email, name FROM users WHERE substring(email from 24 for 16) = $1 AND tenant_id = $2
