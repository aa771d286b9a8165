// Package clients checks that real PostgreSQL client libraries work through pgseal unchanged.
//
// Its tests (there is no library code here) start one PostgreSQL database (internal/pgtest), a
// file keyring with the keysets "acme" and "globex" granted to the role the clients log in as, and
// the proxy as a subprocess built from ./cmd/proxy, exactly as an operator runs it. Then the same
// scenario runs from each client as its own subprocess: psql (psql/scenario.sql), psycopg2 and
// psycopg 3 (python/dbapi_scenario.py), SQLAlchemy 1.4 Core over psycopg2
// (python/sqlalchemy_scenario.py), node-postgres (node/scenario.js) and JDBC (java/Scenario.java).
// Each client prints a transcript of what it saw, and the test compares it line by line with the
// expected one (expected_test.go).
//
// The scenario, per client with its own id range and its own e-mail addresses: SET app.tenant =
// 'acme'; a multi-row insert and an insert of a NULL e-mail; lookups by primary key, by `email =`,
// by `email IN (…)` and by `email IS NULL`; an update and a delete through the e-mail; a duplicate
// e-mail that the UNIQUE index on the equality term turns into 23505; then SET app.tenant =
// 'globex', where a lookup of an acme e-mail finds nothing and reading an acme row fails with
// 42501, and the session still works afterwards. Last, back under acme, each client reads the
// 3,000 rows of the table bulk (written through the proxy before the clients start) and checks
// every e-mail: a long result, which pgseal decrypts in batches (JDBC fetches it 500 rows at a
// time through a portal with a row limit). Parameters go as bind parameters where the client
// sends them (psycopg 3, node-postgres, JDBC); psycopg2, SQLAlchemy over it and psql send literals.
//
// TestClients makes two runs with the same scripts: "through the relay", with no encrypted column
// (email is text), shows the client works through pgseal at all; "with users.email encrypted"
// expects what docs/design.md promises on top and then checks in PostgreSQL itself that every stored
// e-mail is a v1 envelope with an equality term and contains no plaintext. When both fail, the
// relay is the suspect; when only the second fails, the encryption is.
//
// Connection parameters reach the clients in libpq's environment variables (PGHOST, PGPORT,
// PGUSER, PGDATABASE, PGSSLMODE), which psql, libpq-based Python drivers and node-postgres read
// themselves; Scenario.java builds its JDBC URL from them. PGSEAL_CLIENT names the client and
// PGSEAL_BASE is the first id of its range.
//
// A client whose runtime is missing is skipped with the reason, except when CI is set: then it
// fails, because a CI run that silently skips a client proves nothing for it. node-postgres is
// installed by `.ci/run` (`npm install` in node/, from the committed package-lock.json).
//
// TestJDBCBatchWithSetString (batch_test.go, java/Batch.java) runs JDBC batches with setString, which
// declares varchar, on an encrypted text column and an encrypted varchar column, directly on
// plaintext columns and through pgseal; the transcripts must be the same and the stored values
// ciphertext. For a batch the driver describes the statement and fails when a parameter's described
// type is not the one it declared.
//
// The matrix tests (matrix_test.go) widen the drivers' protocol features over every plaintext type
// pgseal encrypts: a table items with one column per type (text, varchar, int2, int4, int8, float4,
// float8, numeric, bool, date, timestamp, timestamptz, uuid, json, jsonb, bytea; four of them
// searchable). Each scenario gets fresh databases and its own proxy, runs the same program directly
// on the plaintext table and through pgseal on the encrypted one (bytea columns), requires the two
// transcripts to be identical, and then checks in PostgreSQL that every stored value is an envelope
// holding none of the plaintexts:
//   - TestPgxMatrix (in Go): CopyFrom (binary COPY, also of a column subset and with a duplicate
//     key), SendBatch (a pipeline of inserts, lookups, an UPDATE … RETURNING, a DELETE, and a batch
//     failing in the middle), and every type written and read in each pgx QueryExecMode (binary
//     parameters and results in the cached modes, text in exec and simple protocol);
//   - TestPsycopgMatrix (python/matrix_psycopg.py): psycopg 3 with %b and binary=True parameters
//     and binary results, binary COPY in and out with set_types, and pipeline mode;
//   - TestJDBCMatrix (java/Matrix.java): CopyManager in and out in text, CSV and binary (the binary
//     stream's SHA-256 is in the transcript: it must be byte-identical), and executeBatch with a
//     typed setter for every type.
//
// What it leaves out: TLS between client and proxy, and authentication methods other than trust
// (internal/wire tests those).
package clients
