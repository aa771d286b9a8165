DELETE FROM users WHERE email = $1 RETURNING id, email
