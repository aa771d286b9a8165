SELECT id FROM events WHERE title > 'm' AND title < 'n'::varchar
