// Package cluster starts and stops a throwaway PostgreSQL cluster: initdb into a temporary
// directory, then postgres on 127.0.0.1 (a free port) and on a Unix socket in that directory, with
// fsync off, TLS on (a throwaway CA, see Server.CAFile) and pg_hba rules that pick the
// authentication method by group membership (GroupMD5, GroupSCRAM, GroupPassword; trust otherwise).
//
// It is the part of internal/pgtest that production code may use (`proxy dev` runs its demo
// database with Start), so it must not import the testing package; cmd/proxy's deps test checks
// that the binary does not link it. Test helpers (shared server per test binary, a database per
// test, roles) stay in internal/pgtest, which wraps this package.
//
// PostgreSQL refuses to run as root, so as root the cluster runs as "postgres" if that account
// exists, otherwise as one created with useradd ("pgseal-test"). It never touches a system-wide
// PostgreSQL.
package cluster
