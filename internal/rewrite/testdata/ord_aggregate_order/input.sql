SELECT string_agg(id::text, ',' ORDER BY score DESC) FROM events
