UPDATE users SET email = $1 WHERE email = $1
