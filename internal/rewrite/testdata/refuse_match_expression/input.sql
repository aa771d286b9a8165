SELECT id FROM events WHERE body LIKE 'a' || 'b'
