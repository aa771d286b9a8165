SELECT max(label) FROM events
