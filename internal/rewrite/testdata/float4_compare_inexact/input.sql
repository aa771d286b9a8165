SELECT id FROM readings WHERE v4 <> 0.1
