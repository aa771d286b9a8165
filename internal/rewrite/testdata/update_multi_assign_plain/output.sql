UPDATE users SET (name, tenant_id) = (SELECT note, id FROM orders WHERE orders.id = users.id) WHERE substring(email from 24 for 16) = $TERM(users.email)
