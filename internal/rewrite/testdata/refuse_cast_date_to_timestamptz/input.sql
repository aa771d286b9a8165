INSERT INTO payments (paid_at) VALUES ('2024-01-02'::date)
