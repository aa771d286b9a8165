SELECT id FROM events WHERE body LIKE 'a%' GROUP BY id
