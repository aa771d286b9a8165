SELECT count(*) FROM events WHERE body LIKE 'a%'
