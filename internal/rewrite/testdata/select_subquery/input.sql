SELECT s.mail FROM (SELECT email AS mail, id FROM users WHERE email = $1) s WHERE s.id > 3
