INSERT INTO meters (s4) VALUES (1.5::int8)
