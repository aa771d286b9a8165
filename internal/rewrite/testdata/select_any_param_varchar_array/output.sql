SELECT id FROM users WHERE substring(email from 24 for 16) = ANY($1) OR ssn IS NULL AND substring(email from 24 for 16) <> ALL($TERMS(users.email))
