SELECT id FROM invites i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE substring(u.email from 24 for 16) = substring(i.email from 24 for 16))
