SELECT count(email) FILTER (WHERE substring(email from 24 for 16) = $TERM(users.email)) FROM users
