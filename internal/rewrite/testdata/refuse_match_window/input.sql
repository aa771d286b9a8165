SELECT id, row_number() OVER () FROM events WHERE body LIKE 'a%'
