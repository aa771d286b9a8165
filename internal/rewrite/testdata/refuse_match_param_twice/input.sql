SELECT id FROM events WHERE body LIKE $1 AND title LIKE $1
