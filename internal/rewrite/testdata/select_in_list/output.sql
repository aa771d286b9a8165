SELECT id FROM users u WHERE substring(u.email from 24 for 16) IN ($TERM(users.email), $1, $TERM(users.email))
