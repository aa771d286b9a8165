UPDATE meters SET s4 = $1::int8, s2 = '1'::int4 WHERE s8 = 3::int2 AND s4 = '-7'::smallint
