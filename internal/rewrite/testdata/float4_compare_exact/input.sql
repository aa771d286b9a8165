SELECT id FROM readings WHERE v4 = 0.5 OR v4 IN (0.1, 2) OR v4 = '0.1' OR v4 = 0.1::real OR v4 < 16777216 OR v4 > 1e400
