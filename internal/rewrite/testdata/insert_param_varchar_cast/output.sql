INSERT INTO users (email) VALUES ($1)
