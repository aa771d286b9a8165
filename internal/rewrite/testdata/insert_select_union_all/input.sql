INSERT INTO users (email) SELECT 'trent@example.com' UNION ALL SELECT $1
