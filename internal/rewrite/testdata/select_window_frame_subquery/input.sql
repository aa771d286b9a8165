SELECT count(*) OVER (ROWS BETWEEN (SELECT count(*) FROM users WHERE email = 'frame@example.com') PRECEDING AND CURRENT ROW) FROM orders
