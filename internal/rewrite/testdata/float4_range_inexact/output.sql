SELECT id FROM readings WHERE CASE WHEN get_byte(v4, 2) & 2 = 2 THEN substring(v4 from 44 for get_byte(v4, 39)*256 + get_byte(v4, 40)) END BETWEEN $ORD(readings.v4) AND $ORD(readings.v4)
