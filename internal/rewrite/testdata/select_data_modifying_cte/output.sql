WITH ins AS (INSERT INTO invites (email) VALUES ($1) RETURNING id, email) SELECT email, id FROM ins
