SELECT max(score) FILTER (WHERE id > 1) FROM events
