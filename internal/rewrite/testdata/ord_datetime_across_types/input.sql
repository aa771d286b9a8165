SELECT id FROM events WHERE happened > '2024-01-01 10:00'::timestamp AND happened <= CAST($1 AS date) ORDER BY happened
