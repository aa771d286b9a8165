SELECT id FROM readings WHERE v4 IN (0.3)
