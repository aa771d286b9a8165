package main

// usageError is a mistake in the command line: exit status 2 instead of 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// checkUsage is "proxy check"'s description for its -h.
const checkUsage = `usage: proxy check [--config proxy.toml] --dsn DSN [--file F] [--no-stats] [--live] [--json]

Runs each statement of pg_stat_statements (and of --file: SQL statements, or a PostgreSQL log
written with log_statement=all) through pgseal's own analysis against the configured columns and
the database's catalog, read-only, and reports per statement: passes through untouched, works with
encryption, or refused (SQLSTATE, column, construct, what would make it work), weighted by calls.
Literal values are never printed.

exit status: 0 every statement would work, 1 some would be refused, 2 the check could not run
(usage, configuration, connection)`
