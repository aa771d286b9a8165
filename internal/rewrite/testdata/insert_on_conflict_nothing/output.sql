INSERT INTO invites AS i (email) VALUES ($ENC(invites.email)) ON CONFLICT ((substring("email" from 24 for 16))) DO NOTHING
