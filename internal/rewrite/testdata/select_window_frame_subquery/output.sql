SELECT count(*) OVER (ROWS BETWEEN (SELECT count(*) FROM users WHERE substring(email from 24 for 16) = $TERM(users.email)) PRECEDING AND CURRENT ROW) FROM orders
