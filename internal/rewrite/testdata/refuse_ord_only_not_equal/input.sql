SELECT id FROM events WHERE happened IS DISTINCT FROM $1 OR label <> 'x'
