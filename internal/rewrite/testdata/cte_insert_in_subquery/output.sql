SELECT * FROM (WITH y AS (INSERT INTO invites (email) VALUES ($ENC(invites.email)) RETURNING id) SELECT id FROM y) z
