INSERT INTO invites (email) VALUES ($1) RETURNING *
