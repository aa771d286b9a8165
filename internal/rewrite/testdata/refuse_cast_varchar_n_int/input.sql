INSERT INTO meters (s4) VALUES ('5'::varchar(3))
