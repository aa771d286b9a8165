SELECT id FROM users WHERE email = 'x'::varchar
