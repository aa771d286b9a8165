SELECT id, email FROM users ORDER BY 2
