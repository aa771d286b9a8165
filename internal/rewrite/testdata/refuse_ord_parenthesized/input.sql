SELECT id FROM events WHERE (score) < 5
