SELECT email AS e FROM users ORDER BY e
