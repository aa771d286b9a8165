// Package leaks hunts for plaintext that reaches PostgreSQL through pgseal (issue 10: "fail
// closed whatever the session does"). It has no library code; its tests are the suite.
//
// pgseal promises that PostgreSQL never receives, and never stores, the plaintext of a configured
// column. The tests start a private PostgreSQL cluster (internal/pgtest, Options with
// log_statement=all, log_min_duration_statement=0 and bind parameters logged, the log written to a
// file), a file keyring with keysets acme and globex, and a pgseal proxy in-process (wire.NewServer,
// as `proxy serve` builds it) with the issue's [[encrypt]] columns: users.email (text, eq), born
// (date), note (text), doc (jsonb, eq), sec.accounts.email and the partitioned events.payload;
// tenancy app.tenant in multi mode. Roles: app_a (keyring client granted acme), app_n and evil
// (clients without grants; evil owns the schema evil) and sec (whose "$user" schema is sec). An RLS
// policy on users lets a row in only when tenant = current_setting('app.tenant').
//
// Every attack runs in a copy of a template database with a marker of its own ("MK" and random
// hex) and then asserts that the marker, as text or as the hex of its bytes (as a bytea shows it),
// is in neither the server log nor the database: every row of every table and materialized view
// outside the system schemas, and the catalog texts a statement can leave a literal in (defaults,
// constraints, index definitions, function bodies, rules and views, comments, policies, extended
// and collected statistics, triggers, role settings, large objects). It also asserts that every
// users row is sealed under the keyset its tenant names. A refusal by pgseal passes; ciphertext
// at rest passes. The first group of sub-tests proves the checks can fail: a marker sent straight
// to PostgreSQL, or written through pgseal to a plain column, is found, and a row sealed under the
// wrong tenant is reported.
//
// Raw pgproto3 frontends send what a driver will not: queries in SJIS, BIG5, GBK, GB18030 or UHC
// and FunctionCall messages. Everything else goes through pgx.
//
// TestKeyringRollbackAcrossRestart checks that a keyring file rolled back to an older epoch (one
// with a grant since revoked) is refused after the proxy restarts.
//
// Run it alone with: go test -race -count=1 ./test/leaks/ (add -v to see, per case, what pgseal
// refused). Without PostgreSQL it skips, except under CI, where it fails.
package leaks
