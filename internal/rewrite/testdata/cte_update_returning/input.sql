WITH x AS (UPDATE users SET email = 'new@example.com' WHERE email = 'old@example.com' RETURNING id, email) SELECT email FROM x
