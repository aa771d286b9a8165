SELECT * FROM (SELECT a.tag, b.tag AS t2 FROM events a JOIN events b ON a.id = b.id) s WHERE s.t2 LIKE '%abc%'
