SELECT id FROM events WHERE body SIMILAR TO 'a%'
