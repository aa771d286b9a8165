SELECT id FROM events WHERE happened IN ($1, $2)
