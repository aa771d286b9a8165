UPDATE users SET email = upper(email)
