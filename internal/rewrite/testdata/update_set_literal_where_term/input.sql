UPDATE users SET ssn = '123-45-6789' WHERE email = 'olivia@example.com' RETURNING ssn, name
