SELECT tenant_id FROM users GROUP BY tenant_id HAVING count(email) FILTER (WHERE email = $1 OR email = 'having@example.com') > 0
