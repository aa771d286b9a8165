SELECT id FROM events WHERE label COLLATE "C" < $1 AND 'b' <= label COLLATE pg_catalog."C"
