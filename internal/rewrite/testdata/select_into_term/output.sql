SELECT id INTO TEMP t2 FROM users WHERE substring(email from 24 for 16) = $TERM(users.email)
