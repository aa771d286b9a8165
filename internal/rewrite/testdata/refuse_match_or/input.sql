SELECT id FROM events WHERE body LIKE 'a%' OR id = 1
