SELECT id, label FROM events ORDER BY 2
