SELECT id FROM users WHERE email = ANY(ARRAY['erin@example.com', $1])
