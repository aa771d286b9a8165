UPDATE users AS u SET name = $1 WHERE substring(u.email from 24 for 16) = $2 RETURNING u.email AS mail, u.id
