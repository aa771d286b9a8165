SELECT id FROM users WHERE $TERM(users.email) = substring(email from 24 for 16)
