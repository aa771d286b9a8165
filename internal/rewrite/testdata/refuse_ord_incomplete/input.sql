SELECT id FROM events WHERE draft < 5
