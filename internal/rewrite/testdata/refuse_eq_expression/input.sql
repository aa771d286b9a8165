SELECT id FROM users WHERE email = name
