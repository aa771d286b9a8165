SELECT email::text FROM users
