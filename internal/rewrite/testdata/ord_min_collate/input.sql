SELECT min(label COLLATE "C") FROM events
