SELECT max(email) FROM users
