SELECT id FROM scores WHERE score > 1.5 OR score BETWEEN -0.5 AND 1e30
