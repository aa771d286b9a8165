SELECT id FROM users WHERE email = $$grace@example.com$$
