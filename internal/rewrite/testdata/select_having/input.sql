SELECT tenant_id, count(*) FROM users GROUP BY tenant_id HAVING count(email) > 1
