WITH users AS (SELECT 1 AS x) UPDATE users SET name = 'a' WHERE email = 'shadow@example.com' RETURNING email
