WITH x AS (UPDATE users SET email = $ENC(users.email) WHERE substring(email from 24 for 16) = $TERM(users.email) RETURNING id, email) SELECT email FROM x
