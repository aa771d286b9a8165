INSERT INTO users (email, ssn) VALUES ($ENC(users.email), $ENC(users.ssn)) ON CONFLICT DO NOTHING
