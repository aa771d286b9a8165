INSERT INTO users (id, email, name) VALUES ($1, $2, $3) ON CONFLICT ((substring(email from 24 for 16))) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name RETURNING id, email
