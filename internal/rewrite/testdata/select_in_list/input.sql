SELECT id FROM users u WHERE u.email IN ('carol@example.com', $1, E'dave\\@example.com')
