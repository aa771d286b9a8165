INSERT INTO users (email) VALUES (NULL::date)
