package main

// "proxy check": will the application's statements work through pgseal? A thin layer over
// internal/check, which runs each statement through serving's own interceptor.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pgseal/pgseal/internal/check"
	"github.com/pgseal/pgseal/internal/config"
)

// checkError is a check that could not run (configuration, connection, reading the statements):
// exit status 2, like a usage error, so that CI tells it from "a statement would be refused" (1).
type checkError struct{ err error }

func (e checkError) Error() string { return "check: " + e.err.Error() }
func (e checkError) Unwrap() error { return e.err }

// runCheck: "check [--config F] --dsn DSN [--file F] [--no-stats] [--live] [--json]". Exit
// status: 0 every statement would work, 1 some would be refused, 2 the check could not run.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags("check", stderr)
	var file string
	var noStats, live bool
	f.fs.StringVar(&file, "file", "", "also check the SQL statements of this file, or of this PostgreSQL log (log_statement=all)")
	f.fs.BoolVar(&noStats, "no-stats", false, "do not read pg_stat_statements (check --file alone)")
	f.fs.BoolVar(&live, "live", false, "check configured columns that are not bytea yet as serving does today (plaintext) instead of as encrypted")
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, checkUsage)
		f.fs.PrintDefaults()
	}
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	if noStats && file == "" {
		return usageError{"check: --no-stats needs --file"}
	}
	cfg, err := config.Load(f.config, nil)
	if err != nil {
		return checkError{err}
	}
	o := check.Options{Config: cfg, DSN: f.dsn, Stats: !noStats, Live: live}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return checkError{err}
		}
		o.Statements = check.ParseFile(data)
	}
	rep, err := check.Run(ctx, o)
	if err != nil {
		return checkError{err}
	}
	if f.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if rep.RefusedStatements > 0 {
		return fmt.Errorf("check: %d of %d statements would be refused", rep.RefusedStatements, rep.Statements)
	}
	return nil
}

// isCheckError reports whether err is a check that could not run (exit status 2).
func isCheckError(err error) bool { return errors.As(err, new(checkError)) }
