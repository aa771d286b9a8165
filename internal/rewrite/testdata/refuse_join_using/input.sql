SELECT id FROM users JOIN invites USING (email)
