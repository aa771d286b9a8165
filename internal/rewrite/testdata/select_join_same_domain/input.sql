SELECT u.id, i.id FROM users u JOIN invites i ON i.email = u.email
