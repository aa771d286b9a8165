INSERT INTO meters (id, born_on) VALUES (1, 20200101)
