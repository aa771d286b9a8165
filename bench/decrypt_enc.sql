-- Decrypt benchmark: read a 100,000-row result of one text column (pgseal encrypts bench_dec.email).
SELECT email FROM bench_dec;
