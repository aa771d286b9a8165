INSERT INTO payments (amount, paid_at, card) VALUES (-12, '2024-01-01 10:00:00+00'::timestamptz, text 'card-4111')
