SELECT id FROM events WHERE label BETWEEN 'a' AND 'b'
