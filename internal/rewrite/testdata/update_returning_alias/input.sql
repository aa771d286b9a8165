UPDATE users AS u SET name = $1 WHERE u.email = $2 RETURNING u.email AS mail, u.id
