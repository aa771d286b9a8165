UPDATE users SET ssn = $ENC(users.ssn) WHERE substring(email from 24 for 16) = $TERM(users.email) RETURNING ssn, name
