WITH users AS (SELECT 1 AS x) UPDATE users SET name = 'a' WHERE substring(email from 24 for 16) = $TERM(users.email) RETURNING email
