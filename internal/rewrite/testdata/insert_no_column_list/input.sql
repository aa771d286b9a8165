INSERT INTO users VALUES (7, 'karl@example.com', 'Karl', NULL, 3)
