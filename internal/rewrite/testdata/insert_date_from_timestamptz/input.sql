INSERT INTO meters (born_on) VALUES ('2024-01-02 23:00+00'::timestamptz), ($1::timestamp)
