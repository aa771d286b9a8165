SELECT id FROM events e WHERE e.body NOT LIKE 'abc%' AND (e.body NOT ILIKE $1 AND e.title ~~* 'x_y')
