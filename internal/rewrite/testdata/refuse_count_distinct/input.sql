SELECT count(DISTINCT email) FROM users
