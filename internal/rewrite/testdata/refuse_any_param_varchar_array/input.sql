SELECT id FROM users WHERE email = ANY($1::varchar[])
