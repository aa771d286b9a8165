SELECT id FROM events WHERE lower(body) LIKE 'a%'
