SELECT id FROM users WHERE email = NULL OR substring(email from 24 for 16) = $TERM(users.email)
