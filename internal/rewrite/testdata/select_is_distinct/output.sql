SELECT id FROM users WHERE substring(email from 24 for 16) IS DISTINCT FROM $1 OR substring(email from 24 for 16) IS NOT DISTINCT FROM $TERM(users.email)
