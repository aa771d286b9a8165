SELECT id FROM users WHERE email = NULL OR email IN (NULL)
