SELECT id FROM events WHERE happened = $1 AND '2024-01-01 10:00'::timestamp = happened
