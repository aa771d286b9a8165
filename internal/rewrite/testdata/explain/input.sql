EXPLAIN ANALYZE SELECT id FROM users WHERE email = 'rupert@example.com'
