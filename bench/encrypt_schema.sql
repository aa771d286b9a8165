-- Tables for the encryption benchmark: the same shape twice, one with a pgseal-encrypted email
-- (bytea envelope, UNIQUE on the equality term at its fixed offset) and one in plaintext.
CREATE TABLE bench_plain (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, n int NOT NULL DEFAULT 0);
CREATE TABLE bench_enc (id bigint PRIMARY KEY, email bytea NOT NULL, n int NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX bench_enc_email_eq ON bench_enc ((substring(email from 24 for 16)));
