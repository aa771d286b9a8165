CREATE TABLE IF NOT EXISTS users (id bigint, email text DEFAULT 'create@example.com', ssn text GENERATED ALWAYS AS (email || 'x') STORED)
