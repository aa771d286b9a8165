-- Decrypt benchmark: the same 100,000 rows in plaintext.
SELECT email FROM bench_dec_plain;
