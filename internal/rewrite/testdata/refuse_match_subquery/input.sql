SELECT id FROM events WHERE id IN (SELECT id FROM events WHERE body LIKE 'a%')
