SELECT id FROM events GROUP BY id HAVING max(score) > 5
