SELECT id FROM scores WHERE score < bonus
