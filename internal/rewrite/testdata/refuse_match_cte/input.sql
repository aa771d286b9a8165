WITH x AS (SELECT id FROM events WHERE body LIKE 'a%') SELECT * FROM x
