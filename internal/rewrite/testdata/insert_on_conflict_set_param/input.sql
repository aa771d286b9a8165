INSERT INTO users (id, email) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET email = $2 WHERE users.email <> $3
