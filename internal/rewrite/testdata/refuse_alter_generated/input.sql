ALTER TABLE users ADD COLUMN email2 text GENERATED ALWAYS AS (email || 'gen@example.com') STORED
