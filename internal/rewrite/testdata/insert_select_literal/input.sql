INSERT INTO invites (email, invited_by) SELECT 'mallory@example.com', id FROM users WHERE email = $1
