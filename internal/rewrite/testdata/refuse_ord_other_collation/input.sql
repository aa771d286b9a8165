SELECT id FROM events WHERE label COLLATE "de_DE" < 'x'
