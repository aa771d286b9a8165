INSERT INTO invites (email) SELECT email FROM users
