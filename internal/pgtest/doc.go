// Package pgtest gives tests a real, throwaway PostgreSQL server.
//
// A test calls New to get a database of its own, dropped when the test ends. The server behind it is
// either the one named by PGSEAL_TEST_DATABASE_URL (a superuser connection string; per-test
// databases are created on it) or, by default, a private cluster that pgtest creates once per test
// binary: initdb into a temporary directory, then postgres listening on 127.0.0.1 on a free port and
// on a Unix socket in that directory, with fsync off.
//
// PostgreSQL refuses to run as root, and CI runs as root, so when the process is root the cluster
// runs as an unprivileged account: "postgres" if it exists, otherwise one pgtest creates with
// useradd. No sudo, no system service.
//
// The private cluster is set up for the proxy's tests: TLS on (a throwaway CA and a server
// certificate for localhost/127.0.0.1, see Server.CAFile), and pg_hba rules that pick the
// authentication method by group membership, so a test can make a role that must log in with md5,
// SCRAM-SHA-256 or a cleartext password (see Server.CreateRole). Everything else is trust.
//
// A test that needs server settings of its own or the server log (test/leaks: log_statement=all)
// starts a private cluster with Private (or StartWith outside a test; cluster.StartWith in production code): Options.Settings are extra
// -c settings, Options.LogFile writes the log to Server.LogPath, which Server.Log reads. Such a
// cluster is always private, never the external server, and Server.NewDB makes databases on it.
//
// Without PostgreSQL binaries a test is skipped with the reason, except when CI is set: then it fails,
// because a CI run that silently skips its database tests proves nothing.
//
// Starting and stopping a cluster (initdb, postgres, certificates, pg_hba) is internal/pgtest/cluster,
// which does not import testing so that `proxy dev` can use it; this package wraps it with the test
// helpers (Server embeds *cluster.Server).
//
// What it leaves out: it never touches a system-wide PostgreSQL, and it does not pool or reuse
// databases between tests.
package pgtest
