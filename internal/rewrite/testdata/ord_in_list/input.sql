SELECT id FROM events WHERE happened IN ($1, NULL, '2024-01-01 10:00'::timestamp) OR happened IN (NULL) OR happened IN ($2)
