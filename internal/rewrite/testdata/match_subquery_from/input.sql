SELECT s.b FROM (SELECT body AS b FROM events LIMIT 5) s WHERE s.b LIKE '%x%'
