SELECT id FROM events WHERE body LIKE 'a%' UNION ALL SELECT id FROM events
