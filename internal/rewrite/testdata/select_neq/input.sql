SELECT id FROM users WHERE email <> 'bob@example.com' OR email != $1
