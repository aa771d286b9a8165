SELECT email FROM users UNION SELECT email FROM users
