SELECT id FROM events WHERE score + 1 < 5
