-- The client-compatibility scenario for psql (see ../doc.go); run by the Go test as
--   psql -X -q -A -t -F ' | ' -v ON_ERROR_STOP=1 -f scenario.sql
-- psql sends literals (simple protocol): pgseal must encrypt literals as it does parameters.
-- Each step prints one transcript line on stdout; errors we expect are printed as SQLSTATEs.
\set ON_ERROR_STOP 1
\pset null NULL
\getenv client PGSEAL_CLIENT
\getenv base PGSEAL_BASE
SELECT :base + 1 AS id1, :base + 2 AS id2, :base + 3 AS id3, :base + 4 AS id4,
       :base + 5 AS id5, :base + 99 AS last \gset
\set alice 'alice.' :client '@acme.example'
\set bob 'bob.' :client '@acme.example'
\set carol 'carol.' :client '@acme.example'
\set alice2 'alice2.' :client '@acme.example'

SET app.tenant = 'acme';
\echo tenant acme

INSERT INTO users (id, tenant, email, name)
VALUES (:id1, 'acme', :'alice', 'Alice'), (:id2, 'acme', :'bob', 'Bob'), (:id3, 'acme', :'carol', 'Carol');
\echo inserted :ROW_COUNT
INSERT INTO users (id, tenant, email, name) VALUES (:id4, 'acme', NULL, 'Nobody');
\echo inserted :ROW_COUNT

\echo -n 'by id: '
SELECT id, tenant, email, name FROM users WHERE id = :id1;
\echo -n 'by email: '
SELECT id, email, name FROM users WHERE email = :'bob';
\echo -n 'by email in: '
SELECT coalesce(string_agg(id::text, ', ' ORDER BY id), 'none') FROM users WHERE email IN (:'alice', :'carol');
\echo -n 'null email: '
SELECT id, email FROM users WHERE id = :id4;
\echo -n 'email is null: '
SELECT coalesce(string_agg(id::text, ', ' ORDER BY id), 'none') FROM users
WHERE email IS NULL AND id BETWEEN :base AND :last;

UPDATE users SET email = :'alice2' WHERE id = :id1;
\echo updated :ROW_COUNT
\echo -n 'by new email: '
SELECT id, email FROM users WHERE email = :'alice2';
\echo -n 'by old email: '
SELECT coalesce(string_agg(id::text, ', ' ORDER BY id), 'none') FROM users WHERE email = :'alice';

DELETE FROM users WHERE email = :'bob';
\echo deleted :ROW_COUNT
\echo -n 'remaining: '
SELECT coalesce(string_agg(id::text, ', ' ORDER BY id), 'none') FROM users WHERE id BETWEEN :base AND :last;

-- A duplicate e-mail: the UNIQUE index on the equality term refuses it.
\set ON_ERROR_STOP 0
INSERT INTO users (id, tenant, email, name) VALUES (:id5, 'acme', :'carol', 'Carol again');
\set ON_ERROR_STOP 1
\echo duplicate email: :SQLSTATE
\echo -n 'by email after duplicate: '
SELECT id, email FROM users WHERE email = :'carol';

-- Another tenant: acme's equality terms mean nothing under globex, and its rows are not readable.
SET app.tenant = 'globex';
\echo tenant globex
\echo -n 'globex by email: '
SELECT coalesce(string_agg(id::text, ', ' ORDER BY id), 'none') FROM users WHERE email = :'alice2';
\echo -n 'read acme: '
\set ON_ERROR_STOP 0
SELECT id, email FROM users WHERE id = :id1;
\if :ERROR
\echo :SQLSTATE
\endif
\set ON_ERROR_STOP 1
\echo -n 'rows after refusal: '
SELECT count(*) FROM users WHERE id BETWEEN :base AND :last;

-- psql's \copy: COPY … FROM STDIN and COPY (query) TO STDOUT through pgseal, in CSV with a quoted
-- comma and a NULL. The rows are deleted again (the stored-row check counts this client's ids).
SET app.tenant = 'acme';
\copy users (id, tenant, email, name) FROM STDIN WITH (FORMAT csv)
1006,acme,"dave,psql@acme.example",Dave
1007,acme,,Eve
\.
\echo copied :ROW_COUNT
\copy (SELECT id, email, name FROM users WHERE id IN (1006, 1007) ORDER BY id) TO STDOUT WITH (FORMAT csv, NULL 'NULL')
DELETE FROM users WHERE email = 'dave,psql@acme.example' OR id = 1007;
\echo deleted :ROW_COUNT

-- A long result (3,000 rows the Go test wrote): every e-mail must be b<id, 5 digits>@bulk.example.
SET app.tenant = 'acme';
\o | awk -F ' [|] ' '{ n++; if ($2 != sprintf("b%05d@bulk.example", $1)) bad++ } END { printf "bulk: %d rows, %d wrong\n", n, bad }'
SELECT id, email FROM bulk ORDER BY id;
\o
-- The same text again: pgseal has seen its result is long, so this Query goes to PostgreSQL as an
-- extended sequence with the envelopes in binary (internal/seal/formats.go); psql still gets text.
\o | awk -F ' [|] ' '{ n++; if ($2 != sprintf("b%05d@bulk.example", $1)) bad++ } END { printf "bulk again: %d rows, %d wrong\n", n, bad }'
SELECT id, email FROM bulk ORDER BY id;
\o
