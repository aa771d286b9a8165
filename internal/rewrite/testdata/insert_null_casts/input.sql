INSERT INTO users (email, ssn, name) VALUES (NULL::varchar, CAST(NULL AS text), NULL::varchar); INSERT INTO meters (s4, s8, born_on) VALUES (NULL::int8, CAST(NULL AS int2), NULL::timestamptz)
