INSERT INTO meters (s4) VALUES ('5'::int2::int8)
