WITH invites AS (SELECT 'x' AS email) DELETE FROM invites WHERE substring(email from 24 for 16) = $TERM(invites.email)
