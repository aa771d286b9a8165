SELECT id FROM events WHERE lower(title) < 'x'
