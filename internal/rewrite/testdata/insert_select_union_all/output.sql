INSERT INTO users (email) SELECT $ENC(users.email) UNION ALL SELECT $1
