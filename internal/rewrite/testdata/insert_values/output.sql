INSERT INTO users (id, email, name, ssn) VALUES (1, $ENC(users.email), 'Judy', $ENC(users.ssn))
