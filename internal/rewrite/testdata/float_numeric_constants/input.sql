INSERT INTO readings (id, v8, v4) VALUES (1, -0.0, 1.5e1), (2, 5, '-0.0'), (3, 1e400, 0.1) RETURNING id
