SELECT * FROM (WITH y AS (INSERT INTO invites (email) VALUES ('nested@example.com') RETURNING id) SELECT id FROM y) z
