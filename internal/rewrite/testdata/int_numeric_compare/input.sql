SELECT s4 FROM meters WHERE s4 = 2.0 OR s8 IN (1e3, 7) OR s2 = 1e10
