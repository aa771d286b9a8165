SET app.tenant = 'acme'; SELECT email FROM users WHERE substring(email from 24 for 16) = $TERM(users.email); SELECT 1
