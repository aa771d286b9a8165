WITH invites AS (SELECT 'x' AS email) DELETE FROM invites WHERE email = 'shadow@example.com'
