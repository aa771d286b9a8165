SELECT email FROM users UNION ALL SELECT email FROM users WHERE id = 3
