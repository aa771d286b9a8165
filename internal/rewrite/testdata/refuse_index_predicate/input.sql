CREATE INDEX users_some ON users (id) WHERE email = 'partial@example.com'
