INSERT INTO meters (s2, s4, s8) VALUES ($1, $2, $3)
