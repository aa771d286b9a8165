SELECT id FROM events WHERE title LIKE '%x%' ORDER BY 2
