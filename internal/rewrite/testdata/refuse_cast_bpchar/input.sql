SELECT id FROM users WHERE email = 'a'::char(3)
