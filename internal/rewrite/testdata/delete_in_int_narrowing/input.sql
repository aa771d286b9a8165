DELETE FROM meters WHERE s2 IN (1, '70000'::int4)
