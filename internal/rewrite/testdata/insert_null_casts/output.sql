INSERT INTO users (email, ssn, name) VALUES (NULL, NULL, NULL::varchar); INSERT INTO meters (s4, s8, born_on) VALUES (NULL, NULL, NULL)
