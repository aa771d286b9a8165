INSERT INTO users (email, name) VALUES ($1, $2), ($3, $4), (DEFAULT, NULL), (NULL, 'x')
