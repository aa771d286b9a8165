SELECT id FROM users WHERE substring(email from 24 for 16) = ANY($TERMS(users.email)) AND substring(email from 24 for 16) <> ALL ($TERMS(users.email))
