DO $$ BEGIN INSERT INTO users (email) VALUES ('do@example.com'); END $$
