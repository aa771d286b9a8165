SELECT count(*) FILTER (WHERE lower(email) = 'b@example.com') FROM users
