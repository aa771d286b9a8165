SELECT id FROM users WHERE email = ANY('{"a,b",c}'::text[]) AND email <> ALL ('{}')
