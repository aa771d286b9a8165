INSERT INTO meters (s2, s4, s8) VALUES ($1::int8, CAST($2 AS bigint), $3::int4)
