INSERT INTO orders (user_id, total) SELECT id, 10 FROM users WHERE email = $1
