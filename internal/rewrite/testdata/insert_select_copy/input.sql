INSERT INTO users (email, name) SELECT email, name FROM users WHERE id = $1
