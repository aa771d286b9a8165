SELECT id /* c */ -- the id
FROM events WHERE body LIKE $1
