SELECT id FROM scores WHERE score > 1.5
