SELECT count(email) OVER (PARTITION BY email) FROM users
