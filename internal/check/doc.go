// Package check is `proxy check`: will an application's statements work through pgseal?
//
// It reads statements from pg_stat_statements (normalised, with their call counts), from a file of
// SQL statements, or from a PostgreSQL log written with log_statement=all, and runs each through
// pgseal's own encryption interceptor — the one serving installs — over a read-only connection to
// the database. So the verdict per statement (passes through untouched, works with encryption, or
// refused with pgseal's SQLSTATE and message) is serving's verdict, not a second analysis that
// could disagree with it.
//
// How the interceptor is driven (session.go): it is built with seal.New and opened
// with a SessionInfo whose Exec and ExecEach run pgseal's own queries (tenant settings, LISTEN
// pgseal_catalog, the catalog and its marker, the envelope CHECK query) on the check's connection.
// That connection starts with default_transaction_read_only=on, which is verified before anything
// else runs, so every statement the check or the interceptor runs is in a read-only transaction.
// LISTEN is allowed there: it registers the connection for notifications and writes nothing; the
// registration ends with the connection. The application's statements themselves are never sent to
// the database: they only go through the interceptor's Request (a Parse for normalised statements
// and the log's execute lines, a Query for statements with literals), followed by the
// Sync/ReadyForQuery bookkeeping a session needs between statements.
//
// The interceptor needs a keyring to seal literals and to select the session's keyset. The check
// makes a throwaway one in a temporary directory, with a random master key, one keyset
// ("pgseal-check") granted to the connecting role, and selects it the way a session does: the
// tenancy setting (or pgseal.keyset) as a startup parameter. No real key material is read.
//
// Configured columns that are not bytea yet (before `proxy encrypt`) are relayed as plaintext by
// serving today. The check is for the configuration a team plans, so by default it analyses them as
// if they were encrypted: the catalog rows of configured columns are read as bytea (Options.Live
// turns that off and checks the catalog as it is).
//
// Literal values are never printed: normalised statements have none, and every statement shown
// is masked (pg_query's normalize, then any constant token left is replaced); refusal messages of
// statements with literals have the literals' text replaced too (mask.go).
package check
