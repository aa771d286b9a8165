SELECT e.id FROM events e JOIN scores s ON e.score < s.score WHERE s.score >= e.score
