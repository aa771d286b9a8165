WITH u AS (SELECT id, email FROM users WHERE tenant_id = $1) SELECT email, id FROM u WHERE substring(email from 24 for 16) = $2
