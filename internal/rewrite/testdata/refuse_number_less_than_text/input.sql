SELECT id FROM events WHERE 5 < title
