SELECT s.mail FROM (SELECT email AS mail, id FROM users WHERE substring(email from 24 for 16) = $1) s WHERE s.id > 3
