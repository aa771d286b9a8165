SELECT id FROM scores WHERE score < 2.0 AND bonus BETWEEN 1e1 AND 2e1
