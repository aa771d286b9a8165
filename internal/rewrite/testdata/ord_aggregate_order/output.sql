SELECT string_agg(id::text, ',' ORDER BY CASE WHEN get_byte(score, 2) & 2 = 2 THEN substring(score from 44 for get_byte(score, 39)*256 + get_byte(score, 40)) END DESC) FROM events
