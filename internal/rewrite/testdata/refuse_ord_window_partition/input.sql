SELECT id, row_number() OVER (PARTITION BY score) FROM events
