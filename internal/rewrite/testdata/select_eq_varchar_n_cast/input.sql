SELECT id FROM users WHERE email = $1::varchar(3) OR email = CAST('abcdef' AS character varying(3))
