INSERT INTO payments (paid_at) VALUES ('2024-01-02'::date), (CAST($1 AS timestamp)), (timestamp '2024-01-02 10:00')
