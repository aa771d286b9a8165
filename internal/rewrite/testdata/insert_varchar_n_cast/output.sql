INSERT INTO users (email) VALUES ($ENC(users.email))
