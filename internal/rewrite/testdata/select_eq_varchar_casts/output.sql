SELECT id FROM users WHERE substring(email from 24 for 16) = $TERM(users.email) OR substring(email from 24 for 16) = $1 OR substring(email from 24 for 16) IN ($TERM(users.email), $TERM(users.email))
