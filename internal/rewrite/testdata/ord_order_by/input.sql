SELECT id, score FROM events ORDER BY score DESC NULLS LAST, id, happened
