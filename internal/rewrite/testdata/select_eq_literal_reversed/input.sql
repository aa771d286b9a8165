SELECT id FROM users WHERE 'alice@example.com' = email
