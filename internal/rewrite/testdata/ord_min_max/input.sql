SELECT min(score), max(title) AS t, count(*) FROM events WHERE id > 5
