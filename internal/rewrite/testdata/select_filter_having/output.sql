SELECT tenant_id FROM users GROUP BY tenant_id HAVING count(email) FILTER (WHERE substring(email from 24 for 16) = $1 OR substring(email from 24 for 16) = $TERM(users.email)) > 0
