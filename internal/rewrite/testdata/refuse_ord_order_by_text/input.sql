SELECT id FROM events ORDER BY label
