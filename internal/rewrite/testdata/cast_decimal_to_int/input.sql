INSERT INTO meters (s2, s4, s8) VALUES (CAST(-7.5e0 AS int2), 1.5::int8, 1e1000000::int8); SELECT s4 FROM meters WHERE s4 = 2.5::int4
