INSERT INTO payments (user_id, amount, paid_at) VALUES ($1, $2::int8, CAST($3 AS timestamp with time zone))
