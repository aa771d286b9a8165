SELECT FROM users WHERE email = = 'x'
