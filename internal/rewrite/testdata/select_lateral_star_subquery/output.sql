SELECT s.* FROM orders o, LATERAL (SELECT u.id, u.email FROM users u WHERE u.id = o.user_id) s
