SELECT * FROM events e1 JOIN events e2 ON e1.id = e2.id WHERE e2.tag LIKE 'x%'
