SELECT id, e.score FROM events e ORDER BY CASE WHEN get_byte(e.score, 2) & 2 = 2 THEN substring(e.score from 44 for get_byte(e.score, 39)*256 + get_byte(e.score, 40)) END DESC, 1
