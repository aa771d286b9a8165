SELECT id FROM users WHERE email = ANY(NULL)
