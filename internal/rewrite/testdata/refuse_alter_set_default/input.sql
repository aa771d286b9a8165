ALTER TABLE users ALTER COLUMN email SET DEFAULT 'default@example.com'
