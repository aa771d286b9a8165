SELECT id FROM invites i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email = i.email)
