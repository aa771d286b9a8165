SELECT id FROM users u, invites i WHERE u.email = $1 AND i.invited_by = $1
