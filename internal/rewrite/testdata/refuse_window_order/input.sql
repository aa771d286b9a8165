SELECT id, row_number() OVER (ORDER BY email) FROM users
