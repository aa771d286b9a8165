SELECT coalesce(email, 'none') FROM users
