SELECT o.id, (SELECT email FROM users u WHERE u.id = o.user_id) FROM orders o
