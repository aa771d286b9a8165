INSERT INTO meters (s4) VALUES (true::int2)
