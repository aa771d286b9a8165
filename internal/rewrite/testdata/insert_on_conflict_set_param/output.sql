INSERT INTO users (id, email) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET email = $2 WHERE substring(users.email from 24 for 16) <> $3
