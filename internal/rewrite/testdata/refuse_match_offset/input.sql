SELECT id FROM events WHERE body LIKE '%x%' OFFSET 10
