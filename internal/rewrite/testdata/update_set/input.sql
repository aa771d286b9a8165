UPDATE users SET email = $1, name = 'Niaj' WHERE id = $2
