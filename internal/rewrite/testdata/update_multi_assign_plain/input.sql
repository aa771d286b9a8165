UPDATE users SET (name, tenant_id) = (SELECT note, id FROM orders WHERE orders.id = users.id) WHERE email = 'multi@example.com'
