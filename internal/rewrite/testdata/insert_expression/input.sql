INSERT INTO users (email) VALUES (lower($1))
