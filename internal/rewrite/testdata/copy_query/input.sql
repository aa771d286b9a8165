COPY (SELECT id, email FROM users WHERE email = 'sybil@example.com') TO STDOUT
