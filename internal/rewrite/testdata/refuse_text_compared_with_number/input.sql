SELECT id FROM users WHERE email = 5
