SELECT id FROM meters WHERE born_on = '2024-01-02 10:00'::timestamp
