SELECT id FROM events WHERE label < 'm'
