SELECT max(score) FROM events ORDER BY 1
