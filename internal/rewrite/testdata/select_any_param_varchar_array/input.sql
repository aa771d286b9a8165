SELECT id FROM users WHERE email = ANY($1::varchar[]) OR ssn IS NULL AND email <> ALL('{a,b}'::character varying[])
