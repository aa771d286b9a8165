ALTER TABLE users ALTER COLUMN email TYPE text USING 'using@example.com'
