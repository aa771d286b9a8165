SELECT id FROM events WHERE body LIKE '%x%' LIMIT 10
