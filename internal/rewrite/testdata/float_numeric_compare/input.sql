SELECT id FROM readings WHERE v8 = -0.0 OR v8 > 2.5 OR v8 = '2.5' OR v8 IN (1.5, 2)
