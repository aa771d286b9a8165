SELECT count(email) FILTER (WHERE email = 'filter@example.com') FROM users
