SELECT * FROM events e JOIN scores s ON s.id = e.id ORDER BY 2
