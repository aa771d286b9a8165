SELECT id FROM users WHERE email = ANY('{a,b}')
