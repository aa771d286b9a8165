SELECT id FROM events WHERE 100 > score OR -5 <= events.score
