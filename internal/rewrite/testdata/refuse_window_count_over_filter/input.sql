SELECT count(email) FILTER (WHERE email = 'a@example.com') OVER (ORDER BY ssn) FROM users
