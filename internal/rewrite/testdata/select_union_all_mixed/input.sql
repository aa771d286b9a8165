SELECT email FROM users UNION ALL SELECT email FROM invites
