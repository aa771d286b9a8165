INSERT INTO meters (s2, s4, s8) VALUES (1.5, -2.5, 1e3)
