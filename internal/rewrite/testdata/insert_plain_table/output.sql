INSERT INTO orders (user_id, total) SELECT id, 10 FROM users WHERE substring(email from 24 for 16) = $1
