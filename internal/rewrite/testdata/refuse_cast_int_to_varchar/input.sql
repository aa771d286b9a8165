INSERT INTO users (email) VALUES (5::varchar)
