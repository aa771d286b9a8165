SELECT id FROM users WHERE email = NULL::varchar(3) OR email = 'x'
