SELECT id FROM events WHERE happened NOT IN (NULL, $1, '2024-01-01 10:00'::timestamp) OR happened NOT IN (NULL) OR happened NOT IN ($2)
