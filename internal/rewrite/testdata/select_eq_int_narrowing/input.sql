SELECT id FROM meters WHERE s4 = $1::int8
