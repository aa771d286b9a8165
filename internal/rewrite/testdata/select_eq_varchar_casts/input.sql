SELECT id FROM users WHERE email = 'a@x'::varchar OR email = $1::varchar OR email IN ('b'::varchar, CAST('c' AS text))
