SELECT id, e.score FROM events e ORDER BY 2 DESC, 1
