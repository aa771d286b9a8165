SELECT e.score, s.score FROM events e, scores s ORDER BY score
