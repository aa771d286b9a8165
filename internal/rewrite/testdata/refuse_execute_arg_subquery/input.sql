EXECUTE s1((SELECT id FROM users WHERE email = 'sub@example.com' AND lower(ssn) = 'z'))
