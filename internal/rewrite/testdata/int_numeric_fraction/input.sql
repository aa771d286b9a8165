SELECT s4 FROM meters WHERE s4 = 1.5 OR s8 IN (1e30, -2.5) OR s2 <> 0.5
