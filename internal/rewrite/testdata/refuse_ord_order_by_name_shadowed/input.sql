SELECT id AS score FROM events ORDER BY score
