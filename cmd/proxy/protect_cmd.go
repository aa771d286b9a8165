package main

// "proxy protect": puts pgseal's envelope CHECK on encrypted columns, so that PostgreSQL itself
// refuses plaintext written around the proxy. A thin layer over migrate.Protect.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pgseal/pgseal/internal/migrate"
)

// runProtect: "protect [--table T --column C] [--json]". Without --table/--column it protects
// every configured column that is bytea and reports the others as skipped (on stdout); an explicit column
// that is not encrypted is an error. It exits non-zero when any column was refused.
func runProtect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags("protect", stderr)
	f.fs.StringVar(&f.table, "table", "", "only this table (with --column)")
	f.fs.StringVar(&f.column, "column", "", "only this column (with --table)")
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	if (f.table == "") != (f.column == "") {
		return usageError{"protect: --table and --column go together"}
	}
	cfg, _, conn, err := f.open(ctx, false)
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	defer conn.Close(context.Background())
	cols, err := selectedColumns(cfg, f.table, f.column)
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	if len(cols) == 0 {
		return errors.New("protect: no [[encrypt]] columns are configured")
	}
	var reps []*migrate.ProtectReport
	var failed []string
	var firstErr error
	for _, c := range cols {
		rep, err := migrate.Protect(ctx, conn, c)
		if err != nil && f.table == "" && errors.Is(err, migrate.ErrNotEncrypted) {
			reps = append(reps, &migrate.ProtectReport{Column: c.ID, Action: "skipped"})
			continue
		}
		if err != nil {
			failed = append(failed, c.ID)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		reps = append(reps, rep)
	}
	if err := printProtect(stdout, reps, f.json); err != nil {
		return err
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return firstErr
	}
	return fmt.Errorf("%w (and %d more columns refused: %s)", firstErr, len(failed)-1, strings.Join(failed[1:], ", "))
}

func printProtect(w io.Writer, reps []*migrate.ProtectReport, asJSON bool) error {
	if asJSON {
		if reps == nil {
			reps = []*migrate.ProtectReport{}
		}
		return printJSON(w, reps)
	}
	for _, r := range reps {
		switch r.Action {
		case "none":
			fmt.Fprintf(w, "%s: envelope CHECK already in place\n", r.Column)
		case "skipped":
			fmt.Fprintf(w, "%s: skipped, not an encrypted bytea column (yet): run proxy encrypt first\n", r.Column)
		default:
			fmt.Fprintf(w, "%s: envelope CHECK %s (was %s) and validated\n", r.Column, r.Action, r.Before)
		}
	}
	return nil
}
