SELECT min(draft) FROM events
