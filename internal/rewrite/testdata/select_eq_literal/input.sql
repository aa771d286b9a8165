SELECT id, email FROM users WHERE email = 'alice@example.com'
