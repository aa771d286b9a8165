INSERT INTO users (email, ssn) VALUES ($1, $2)
