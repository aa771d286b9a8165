SELECT * FROM events ORDER BY 2 DESC, score, "title"
