CREATE TABLE t2 AS SELECT id FROM users WHERE email = 'ctas@example.com'
