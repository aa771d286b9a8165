INSERT INTO scores (id) SELECT id FROM events WHERE body LIKE 'a%'
