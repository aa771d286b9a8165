SELECT id FROM users WHERE email NOT IN ($1, $2)
