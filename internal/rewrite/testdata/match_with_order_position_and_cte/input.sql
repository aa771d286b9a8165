WITH t AS (SELECT id FROM scores) SELECT e.id, e.score FROM events e JOIN t ON t.id = e.id WHERE e.title ILIKE '%abc%' ESCAPE '#' ORDER BY 2 DESC
