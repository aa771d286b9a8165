EXPLAIN SELECT id FROM events WHERE body LIKE '%x%'
