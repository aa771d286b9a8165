SELECT id FROM events WHERE happened <> ALL($1)
