SELECT id FROM events WHERE happened <> $1 OR '2024-01-01 10:00'::timestamp != happened OR score <> NULL
