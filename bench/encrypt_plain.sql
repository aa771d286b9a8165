-- insert, select by equality on email, update, select by primary key
\set id random(1, 1000000000)
INSERT INTO bench_plain (id, email, n) VALUES (:id, :id::text, 0) ON CONFLICT DO NOTHING;
SELECT id, email, n FROM bench_plain WHERE email = :id::text;
UPDATE bench_plain SET n = n + 1 WHERE id = :id;
SELECT id, email, n FROM bench_plain WHERE id = :id;
