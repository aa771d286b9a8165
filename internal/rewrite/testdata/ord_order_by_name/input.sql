SELECT e.score AS s, title FROM events e ORDER BY s, title USING <
