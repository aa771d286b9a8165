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
// The groups follow the issue: 1 a catalog poisoned by another session (format_type and =
// shadowed in evil's search_path, then a new table), 2 client encodings whose two-byte characters
// end in a backslash (SJIS, BIG5, GBK, GB18030; UHC) and standard_conforming_strings = off, 3
// search_path in every way it can be set (SET, SET LOCAL, set_config, role defaults, "$user",
// startup options and parameters), 4 SQL EXECUTE of extended-protocol and SQL-prepared statements,
// 5 views, partitions, sub-partitions and inheritance children, 6 DO blocks, functions and
// procedures, 7 literals in FILTER, OVER, HAVING and friends, 8 DDL that stores a literal (index
// expressions and predicates, CHECK, DEFAULT, policies, statistics, views, rules,
// triggers), 9 app.tenant and pgseal.keyset out of step (the RLS policy follows app.tenant, the
// envelope's keyset id must too), and V data-modifying CTEs, MERGE, CREATE TABLE AS, COPY and
// simple Queries that pgseal sends as extended sequences (long results, internal/seal/formats.go);
// S range, ORDER BY and LIKE searches; N unquoted numbers, whose marker is digits (typed and
// converted as PostgreSQL does, or refused with its error).
// Where cheap a case has a bind-parameter variant. COMMENT ON is not a case: a comment is
// metadata an operator writes, not a value of the column, and pgseal passes it (rewrite/doc.go).
//
// Raw pgproto3 frontends send what a driver will not: queries in SJIS, BIG5, GBK, GB18030 or UHC
// and FunctionCall messages. Everything else goes through pgx.
//
// TestKeyringRollbackAcrossRestart checks that a keyring file rolled back to an older epoch (one
// with a grant since revoked) is refused after the proxy restarts.
//
// Run it alone with: go test -race -count=1 ./test/leaks/ (add -v to see, per case, what pgseal
// refused; -run 'TestNoPlaintextReachesPostgreSQL/3_' for one group). The cases of a group run in
// parallel, each in its own database. Without PostgreSQL it skips, except under CI, where it fails.
//
// What it leaves out: TLS, authentication methods other than trust, and the proxy's own log (the
// promise is about PostgreSQL). A leak through a function called with a literal argument (group 6)
// can only be closed by refusing such calls; whether that is the policy is the fix's decision.
package leaks
