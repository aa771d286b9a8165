INSERT INTO users (email, ssn, name) VALUES ($ENC(users.email), $ENC(users.ssn), 'plain'::varchar) RETURNING email
