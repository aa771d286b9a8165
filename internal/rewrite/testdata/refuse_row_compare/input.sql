SELECT id FROM users WHERE (email, id) = ('walter@example.com', 1)
