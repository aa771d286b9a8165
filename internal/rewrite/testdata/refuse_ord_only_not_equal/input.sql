SELECT id FROM events WHERE happened <> $1 OR draft = 5
