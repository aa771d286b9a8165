SELECT id FROM events WHERE happened = ANY($1) OR happened = ANY('{"2024-01-01 10:00+00",NULL}') OR happened = ANY(ARRAY[$2, '2024-01-01 10:00'::timestamp, NULL]) OR happened = ANY(NULL)
