SELECT id FROM users WHERE substring(email from 24 for 16) = $TERM(users.email)
