SELECT id FROM events WHERE label LIKE 'a%'
