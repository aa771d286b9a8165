SELECT u.id FROM users u JOIN pg_attribute a ON a.attrelid = 'users'::regclass WHERE u.email = 'alice@example.com'
