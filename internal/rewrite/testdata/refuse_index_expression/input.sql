CREATE INDEX users_flag ON users ((email = 'index@example.com'))
