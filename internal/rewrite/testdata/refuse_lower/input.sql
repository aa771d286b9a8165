SELECT id FROM users WHERE lower(email) = 'heidi@example.com'
