WITH x AS (SELECT 'cte@example.com' AS e) INSERT INTO users (email) SELECT e FROM x
