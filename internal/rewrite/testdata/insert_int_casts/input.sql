INSERT INTO meters (s2, s4, s8) VALUES ('7'::int8, 5::bigint, '-3'::int2), (3000000000::int8, '40000'::int4, int4 '9')
