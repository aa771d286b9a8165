SELECT string_agg(name, ',' ORDER BY email) FROM users
