UPDATE users SET email = CASE WHEN id = 1 THEN 'x' ELSE 'y' END
