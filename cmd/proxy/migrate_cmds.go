package main

// The migration commands: encrypt, decrypt, reencrypt, status (reindex: reindex_cmd.go), and the check that keyset
// retire-generation runs first. Each is a thin layer over internal/migrate, connecting to
// PostgreSQL directly (--dsn, default $PGSEAL_MIGRATE_DSN) with the configured keyring.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/migrate"
)

// migrateDSNEnv is the default for --dsn.
const migrateDSNEnv = "PGSEAL_MIGRATE_DSN"

// migrateFlags are the flags every migration command shares.
type migrateFlags struct {
	fs                 *flag.FlagSet
	config, dsn        string
	json, dryRun       bool
	table, column, typ string
	keyset, tenantCol  string
	batch, rate        int
}

func newMigrateFlags(name string, stderr io.Writer) *migrateFlags {
	f := &migrateFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.config, "config", "proxy.toml", "configuration file")
	f.fs.StringVar(&f.dsn, "dsn", os.Getenv(migrateDSNEnv), "direct PostgreSQL connection for the tool (default $"+migrateDSNEnv+")")
	f.fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	return f
}

// parse parses args (flags only) into f; a bad command line is a usageError.
func (f *migrateFlags) parse(args []string) error {
	pos, err := parseInterspersed(f.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	if err != nil {
		return usageError{f.fs.Name() + ": " + err.Error()}
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", f.fs.Name(), pos[0])}
	}
	if f.dsn == "" {
		return usageError{f.fs.Name() + ": --dsn (or $" + migrateDSNEnv + ") is required"}
	}
	return nil
}

// open loads the config, the keyring and a connection. The caller closes both.
func (f *migrateFlags) open(ctx context.Context, needKeys bool) (*config.Config, *keyring.Keyring, *pgx.Conn, error) {
	cfg, err := config.Load(f.config, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var kr *keyring.Keyring
	if needKeys {
		if kr, err = keyring.Open(ctx, cfg.Keyring, nil, nil, keyring.WithSuiteName(cfg.Crypto.Suite)); err != nil {
			return nil, nil, nil, err
		}
	}
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		if kr != nil {
			kr.Close()
		}
		return nil, nil, nil, fmt.Errorf("connect to --dsn: %w", err)
	}
	return cfg, kr, conn, nil
}

// configuredColumn finds the [[encrypt]] entry of --table/--column.
func configuredColumn(cfg *config.Config, table, name string) (column.Column, error) {
	want := strings.ToLower(config.Encrypt{Table: table}.QualifiedTable() + "." + name)
	for _, e := range cfg.Encrypt {
		c, err := column.FromConfig(e)
		if err != nil {
			return column.Column{}, err
		}
		if c.ID == want {
			return c, nil
		}
	}
	return column.Column{}, fmt.Errorf("%s is not configured: add an [[encrypt]] entry for it to the config first", want)
}

// selectedColumns is the --table/--column entry when given, else every configured column.
func selectedColumns(cfg *config.Config, table, name string) ([]column.Column, error) {
	if table == "" {
		return configuredColumns(cfg)
	}
	c, err := configuredColumn(cfg, table, name)
	if err != nil {
		return nil, err
	}
	return []column.Column{c}, nil
}

func configuredColumns(cfg *config.Config) ([]column.Column, error) {
	var cols []column.Column
	for _, e := range cfg.Encrypt {
		c, err := column.FromConfig(e)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// runEncrypt: "encrypt --table T --column C [--keyset K | --tenant-column X] [--type T] [--batch N] [--dry-run]".
func runEncrypt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runShadowMigration(ctx, "encrypt", args, stdout, stderr)
}

// runDecrypt: "decrypt --table T --column C [--type T] [--batch N] [--dry-run]".
func runDecrypt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runShadowMigration(ctx, "decrypt", args, stdout, stderr)
}

func runShadowMigration(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags(name, stderr)
	f.fs.StringVar(&f.table, "table", "", "table (schema.table; public when no schema)")
	f.fs.StringVar(&f.column, "column", "", "column")
	f.fs.IntVar(&f.batch, "batch", 1000, "rows per batch (one transaction each)")
	f.fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	if name == "encrypt" {
		f.fs.StringVar(&f.keyset, "keyset", "", "encrypt every row under this keyset")
		f.fs.StringVar(&f.tenantCol, "tenant-column", "", "encrypt each row under the keyset its tenant column names")
		f.fs.StringVar(&f.typ, "type", "", "plaintext type (default: the configured type)")
	} else {
		f.fs.StringVar(&f.typ, "type", "", "PostgreSQL type to restore (default: the type recorded by encrypt)")
	}
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	switch {
	case f.table == "" || f.column == "":
		return usageError{name + ": --table and --column are required"}
	case name == "encrypt" && (f.keyset == "") == (f.tenantCol == ""):
		return usageError{"encrypt: give exactly one of --keyset and --tenant-column"}
	case f.batch < 1:
		return usageError{name + ": --batch must be at least 1"}
	}
	cfg, kr, conn, err := f.open(ctx, true)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer kr.Close()
	defer conn.Close(context.Background())
	col, err := configuredColumn(cfg, f.table, f.column)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	opts := migrate.Options{Batch: f.batch, DryRun: f.dryRun, Progress: stderr}
	var rep *migrate.Report
	if name == "encrypt" {
		if f.typ != "" && !strings.EqualFold(f.typ, col.Type.String()) {
			return fmt.Errorf("encrypt: --type %s differs from the configured type %s: the proxy would not read the values", f.typ, col.Type)
		}
		rep, err = migrate.Encrypt(ctx, conn, kr.Snapshot(), col, migrate.EncryptOptions{Options: opts, Keyset: f.keyset, TenantColumn: f.tenantCol})
	} else {
		rep, err = migrate.Decrypt(ctx, conn, kr.Snapshot(), col, migrate.DecryptOptions{Options: opts, Type: f.typ})
	}
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, rep)
	}
	printReport(stdout, rep)
	return nil
}

func ignoreHelp(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func printReport(w io.Writer, r *migrate.Report) {
	id := r.Table + "." + r.Column
	switch {
	case r.AlreadyDone:
		fmt.Fprintf(w, "%s: nothing to do, %s already done\n", id, r.Operation)
		return
	case r.DryRun:
		fmt.Fprintf(w, "plan for %s of %s (%d rows, about %.0fs):\n", r.Operation, id, r.Rows, r.EstimatedSecs)
		for _, s := range r.Statements {
			fmt.Fprintf(w, "  %s;\n", s)
		}
	default:
		fmt.Fprintf(w, "%s of %s done in %.1fs: %d rows backfilled (%.0f rows/s), %d redone after concurrent changes, cut-over held the lock %d ms\n",
			r.Operation, id, r.Seconds, r.Backfilled, r.RowsPerSecond, r.Swept+r.FinalSwept, r.CutoverMillis)
	}
	if len(r.ConvertedIndex) > 0 {
		fmt.Fprintf(w, "indexes rebuilt: %s\n", strings.Join(r.ConvertedIndex, ", "))
	}
	if len(r.DroppedIndex) > 0 {
		fmt.Fprintf(w, "indexes dropped: %s\n", strings.Join(r.DroppedIndex, ", "))
	}
}

// columnJobFlags adds the flags of a batched job over the configured columns (reencrypt,
// reindex): --table with --column, --rate and --batch.
func (f *migrateFlags) columnJobFlags() {
	f.fs.StringVar(&f.table, "table", "", "only this table (with --column)")
	f.fs.StringVar(&f.column, "column", "", "only this column (with --table)")
	f.fs.IntVar(&f.rate, "rate", 0, "at most this many rows per second (0: no limit)")
	f.fs.IntVar(&f.batch, "batch", 500, "rows per batch (one transaction each)")
}

// openColumnJob checks the flags of columnJobFlags, opens the keyring and the connection and
// selects the columns the job visits; cmd names the command in errors.
func (f *migrateFlags) openColumnJob(ctx context.Context, cmd string) (*keyring.Keyring, *pgx.Conn, []column.Column, error) {
	switch {
	case (f.table == "") != (f.column == ""):
		return nil, nil, nil, usageError{cmd + ": --table and --column go together"}
	case f.rate < 0 || f.batch < 1:
		return nil, nil, nil, usageError{cmd + ": --rate must be >= 0 and --batch >= 1"}
	}
	cfg, kr, conn, err := f.open(ctx, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	cols, err := selectedColumns(cfg, f.table, f.column)
	if err != nil {
		_ = kr.Close()
		_ = conn.Close(context.Background())
		return nil, nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return kr, conn, cols, nil
}

// runReencrypt: "reencrypt --keyset NAME [--table T --column C] [--rate N] [--batch N]".
func runReencrypt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags("reencrypt", stderr)
	f.fs.StringVar(&f.keyset, "keyset", "", "the rotated keyset")
	f.columnJobFlags()
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	if f.keyset == "" {
		return usageError{"reencrypt: --keyset is required"}
	}
	kr, conn, cols, err := f.openColumnJob(ctx, "reencrypt")
	if err != nil {
		return err
	}
	defer kr.Close()
	defer conn.Close(context.Background())
	rep, err := migrate.Reencrypt(ctx, conn, kr.Snapshot(), migrate.ReencryptOptions{Keyset: f.keyset, Columns: cols,
		Rate: f.rate, Batch: f.batch, Progress: stderr})
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, rep)
	}
	for _, c := range cols {
		if why, ok := rep.Skipped[c.ID]; ok {
			fmt.Fprintf(stdout, "%s: skipped (%s)\n", c.ID, why)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d values moved to generation %d (%s) of keyset %s\n", c.ID, rep.Columns[c.ID], rep.Generation, rep.Suite, rep.Keyset)
	}
	if rep.IndexRotating {
		fmt.Fprintf(stdout, "keyset %s is rotating its index keys: its searches are refused until every older generation is retired "+
			"(proxy keyset retire-generation %s GEN; keyset list shows them)\n", rep.Keyset, rep.Keyset)
	}
	return nil
}

// runStatus: "status [--json]".
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags("status", stderr)
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	cfg, _, conn, err := f.open(ctx, false)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer conn.Close(context.Background())
	var snap *keyring.Snapshot
	if kr, err := keyring.Open(ctx, cfg.Keyring, nil, nil, keyring.WithSuiteName(cfg.Crypto.Suite)); err == nil {
		defer kr.Close()
		snap = kr.Snapshot()
	} else {
		fmt.Fprintf(stderr, "proxy status: keysets shown by id: %v\n", oneLine(err))
	}
	cols, err := configuredColumns(cfg)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	st, err := migrate.Status(ctx, conn, snap, cols)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tSTATE\tROWS\tNULLS\tPLAINTEXT\tENCRYPTED (keyset:gen/suite=rows)\tCHECK\tSEARCH\tNOTE")
	for _, s := range st {
		var enc []string
		for _, k := range s.Encrypted {
			enc = append(enc, fmt.Sprintf("%s:%d/%s=%d", k.Keyset, k.Generation, k.Suite, k.Rows))
		}
		note := s.Migration + s.Problem
		if s.Check != "" && s.Check != migrate.CheckOK && s.State == migrate.StateEncrypted {
			note = joinNote(note, "envelope CHECK "+s.Check+": run proxy protect")
		}
		search, ready := searchLine(s.Search)
		if !ready {
			note = joinNote(note, "search terms or indexes incomplete: run proxy reindex")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", s.Column, s.State, s.Rows, s.Nulls, s.Plaintext,
			orDash(strings.Join(enc, " ")), orDash(s.Check), orDash(search), orDash(note))
	}
	return tw.Flush()
}

// searchLine is the SEARCH field ("ord:ready match:12 lacking,index missing") and whether every
// search is ready.
func searchLine(ss []migrate.SearchStatus) (string, bool) {
	var parts []string
	ready := true
	for _, s := range ss {
		parts = append(parts, s.String())
		ready = ready && s.Ready()
	}
	return strings.Join(parts, " "), ready
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// retireSubcommand is "keyset retire-generation KEYSET GENERATION [--dsn …]": it refuses while
// any configured column still holds a value of that generation (counted from the envelope
// headers in SQL), then retires it. Without configured columns there is nothing to count; with
// some, a DSN is required (fail closed).
func retireSubcommand() subcommand {
	var dsn string
	var fs *flag.FlagSet
	return subcommand{usage: "KEYSET GENERATION", nargs: 2,
		flags: func(f *flag.FlagSet) {
			fs = f
			f.StringVar(&dsn, "dsn", os.Getenv(migrateDSNEnv), "PostgreSQL holding the encrypted columns (default $"+migrateDSNEnv+")")
		},
		run: func(ctx context.Context, e *cmdEnv) error {
			gen, err := strconv.ParseUint(e.args[1], 10, 32)
			if err != nil || gen == 0 {
				return usageError{fmt.Sprintf("generation %q: want a positive number", e.args[1])}
			}
			if err := checkRetire(ctx, fs.Lookup("config").Value.String(), dsn, e.m, e.args[0], uint32(gen)); err != nil {
				return err
			}
			return retireGeneration(ctx, e)
		}}
}

func checkRetire(ctx context.Context, cfgPath, dsn string, m *keyring.Manager, keyset string, gen uint32) error {
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		return err
	}
	cols, err := configuredColumns(cfg)
	if err != nil || len(cols) == 0 {
		return err
	}
	if dsn == "" {
		return usageError{"--dsn (or $" + migrateDSNEnv + ") is required to check that no value still uses the generation"}
	}
	info, err := m.GetKeyset(ctx, keyset)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to --dsn: %w", err)
	}
	defer conn.Close(context.Background())
	return migrate.CheckRetire(ctx, conn, cols, crypto.KeysetID(uuid.UUID(info.ID)), gen)
}
