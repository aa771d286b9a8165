WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT u.email, r.n FROM r JOIN users u ON u.id = r.n
