CREATE MATERIALIZED VIEW mv AS SELECT id FROM users WHERE email = 'mview@example.com'
