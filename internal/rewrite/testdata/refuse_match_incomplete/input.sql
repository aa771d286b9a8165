SELECT id FROM events WHERE stale LIKE 'a%'
