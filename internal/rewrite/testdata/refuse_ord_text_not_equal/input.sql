SELECT id FROM events WHERE label <> 'x'
