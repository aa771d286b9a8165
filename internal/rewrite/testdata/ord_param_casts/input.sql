SELECT id FROM events WHERE score <= $1::int8 AND happened > '2024-01-01'::timestamptz AND score > CAST($2 AS bigint)
