SELECT id FROM meters WHERE s4 = ANY($1::int8[])
