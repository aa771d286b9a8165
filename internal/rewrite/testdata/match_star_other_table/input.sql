SELECT a.* FROM events a JOIN events b ON a.id = b.id WHERE b.tag LIKE 'x%'
