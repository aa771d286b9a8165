SELECT id, email FROM users ORDER BY email
