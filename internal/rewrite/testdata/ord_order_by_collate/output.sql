SELECT id FROM events ORDER BY CASE WHEN get_byte(label, 2) & 2 = 2 THEN substring(label from 28 for get_byte(label, 23)*256 + get_byte(label, 24)) END DESC
