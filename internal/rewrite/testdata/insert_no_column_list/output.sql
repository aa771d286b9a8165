INSERT INTO users VALUES (7, $ENC(users.email), 'Karl', NULL, 3)
