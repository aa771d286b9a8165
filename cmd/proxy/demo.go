package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/migrate"
	"github.com/pgseal/pgseal/internal/pgtest/cluster"
	"github.com/pgseal/pgseal/internal/value"
)

// demoTable is the demo's table; its email column is encrypted per tenant.
const demoTable = "public.customers"

// demoKeysets are the demo's tenants, each a keyset of its own.
var demoKeysets = []string{"acme", "globex"}

// demoRows are inserted already sealed: setupDemo runs before the proxy listens, so it writes
// through column.Column.Seal, the very function the proxy seals with, and the rows are exactly
// what the proxy would have stored.
var demoRows = []struct{ tenant, email, name string }{
	{"acme", "alice@acme.example", "Alice"},
	{"acme", "bob@acme.example", "Bob"},
	{"globex", "carol@globex.example", "Carol"},
	{"globex", "dave@globex.example", "Dave"},
}

// demoEncrypt is the [[encrypt]] entry the demo adds to the configuration.
var demoEncrypt = config.Encrypt{Table: demoTable, Column: "email", Type: "text", Search: []string{config.SearchEq}}

// setupDemo prepares the dev demo (keyring, encrypted table, tenants) and returns text to print.
// It puts a fresh master key in the process environment under cfg.Keyring.MasterKeyEnv (serve
// reads it from there), creates the keyring at cfg.Keyring.Path with keysets acme and globex
// granted to cluster.Superuser, creates public.customers in the postgres database with a UNIQUE
// index on the equality term, adds its email column to cfg.Encrypt, inserts sealed rows and adds
// the envelope CHECK.
func setupDemo(ctx context.Context, pg *cluster.Server, cfg *config.Config, dir string) (string, error) {
	if err := demoKeyring(ctx, cfg); err != nil {
		return "", fmt.Errorf("demo keyring: %w", err)
	}
	kr, err := keyring.Open(ctx, cfg.Keyring, os.Getenv, zap.NewNop(), keyring.WithSuiteName(cfg.Crypto.Suite))
	if err != nil {
		return "", fmt.Errorf("demo keyring: %w", err)
	}
	defer kr.Close()
	col, err := column.FromConfig(demoEncrypt)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	conn, err := pgx.Connect(ctx, pg.AdminURL())
	if err != nil {
		return "", fmt.Errorf("demo: connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if err := demoCreateTable(ctx, conn); err != nil {
		return "", err
	}
	if err := demoInsert(ctx, conn, kr.Snapshot(), col); err != nil {
		return "", err
	}
	// The envelope CHECK, as `proxy protect` adds it: plaintext written past pgseal is refused.
	if _, err := migrate.Protect(ctx, conn, col); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	cfg.Encrypt = append(cfg.Encrypt, demoEncrypt)
	table, err := demoPrintout(ctx, conn, kr.Snapshot(), col)
	if err != nil {
		return "", err
	}
	return table + demoTryLines(pg), nil
}

// demoKeyring makes a master key and a keyring with the demo's keysets, granted to the dev
// superuser, which is the identity psql connects as.
func demoKeyring(ctx context.Context, cfg *config.Config) error {
	if cfg.Keyring.MasterKeyEnv == "" {
		cfg.Keyring.MasterKeyEnv = config.Default().Keyring.MasterKeyEnv
	}
	cfg.Keyring.MasterKeyFile = ""
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.Setenv(cfg.Keyring.MasterKeyEnv, base64.StdEncoding.EncodeToString(key)); err != nil {
		return err
	}
	m, err := keyring.OpenManager(ctx, cfg.Keyring, os.Getenv)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.Init(ctx); err != nil {
		return err
	}
	if _, err := m.CreateClient(ctx, cluster.Superuser, false); err != nil {
		return err
	}
	for _, name := range demoKeysets {
		if _, err := m.CreateKeyset(ctx, name, "dev demo tenant"); err != nil {
			return err
		}
		if err := m.Grant(ctx, name, cluster.Superuser); err != nil {
			return err
		}
	}
	return nil
}

// demoCreateTable creates the table with email as bytea (what PostgreSQL stores) and a UNIQUE
// index on the equality term at its fixed offset, so duplicate e-mails of a tenant are refused
// without PostgreSQL ever seeing them.
func demoCreateTable(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `CREATE TABLE `+demoTable+` (
		id serial PRIMARY KEY, tenant text NOT NULL, email bytea, name text);
		CREATE UNIQUE INDEX customers_email_term ON `+demoTable+` ((substring(email from 24 for 16)))`)
	if err != nil {
		return fmt.Errorf("demo: create %s: %w", demoTable, err)
	}
	return nil
}

// demoInsert seals each row's e-mail under its tenant's keyset and inserts it.
func demoInsert(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col column.Column) error {
	for _, r := range demoRows {
		ks, ok := snap.Keyset(r.tenant)
		if !ok {
			return fmt.Errorf("demo: keyset %s is missing", r.tenant)
		}
		plain, err := value.Encode(nil, col.Type, value.FormatText, []byte(r.email), nil)
		if err != nil {
			return fmt.Errorf("demo: encode e-mail: %w", err)
		}
		sealed, err := col.Seal(nil, ks, plain)
		if err != nil {
			return fmt.Errorf("demo: seal e-mail: %w", err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO "+demoTable+" (tenant, email, name) VALUES ($1, $2, $3)",
			r.tenant, sealed, r.name); err != nil {
			return fmt.Errorf("demo: insert into %s: %w", demoTable, err)
		}
	}
	return nil
}

// demoPrintout reads the rows back from PostgreSQL and shows, per row, the start of the stored
// bytea next to the value an application sees, decrypted from those very bytes with
// column.Column.Open as the proxy does.
func demoPrintout(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col column.Column) (string, error) {
	rows, err := conn.Query(ctx, "SELECT id, tenant, email FROM "+demoTable+" ORDER BY id")
	if err != nil {
		return "", fmt.Errorf("demo: read %s: %w", demoTable, err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "\ndemo: %s.email is encrypted per tenant (keysets %s, granted to %s)\n\n",
		demoTable, strings.Join(demoKeysets, " and "), cluster.Superuser)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  id\ttenant\tPostgreSQL stores (email bytea)\tthe application sees")
	for rows.Next() {
		var id int
		var tenant string
		var stored []byte
		if err := rows.Scan(&id, &tenant, &stored); err != nil {
			return "", fmt.Errorf("demo: read %s: %w", demoTable, err)
		}
		plain, _, _, err := col.Open(nil, snap, stored, nil)
		if err != nil {
			return "", fmt.Errorf("demo: open row %d: %w", id, err)
		}
		text, err := value.Decode(nil, col.Type, plain, value.FormatText, nil)
		if err != nil {
			return "", fmt.Errorf("demo: decode row %d: %w", id, err)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", id, tenant, hexPrefix(stored), text)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("demo: read %s: %w", demoTable, err)
	}
	if err := tw.Flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// hexPrefixBytes is how much of a stored value the printout shows: version, suite, flags and the
// first bytes of the keyset id, enough to see that the two tenants' rows differ.
const hexPrefixBytes = 10

// hexPrefix renders the start of a bytea as psql shows it, with the total length.
func hexPrefix(b []byte) string {
	n := min(len(b), hexPrefixBytes)
	return fmt.Sprintf(`\x%s… (%d bytes)`, hex.EncodeToString(b[:n]), len(b))
}

// demoTryLines are the statements to try through pgseal, and how to look past it.
func demoTryLines(pg *cluster.Server) string {
	direct := pg.URL(cluster.Superuser, "postgres")
	return `
  try through pgseal:
    SET app.tenant = 'acme';
    SELECT * FROM customers WHERE tenant = 'acme';            -- acme's rows, decrypted
    SELECT name FROM customers WHERE email = 'bob@acme.example';
    INSERT INTO customers (tenant, email, name) VALUES ('acme', 'erin@acme.example', 'Erin');
    SELECT * FROM customers;    -- ERROR 42501: globex's rows are not acme's to read
    SET app.tenant = 'globex';
    SELECT * FROM customers WHERE tenant = 'globex';

  and past pgseal, straight into PostgreSQL (only ciphertext):
    psql "` + direct + `" -c "SELECT id, tenant, email FROM customers"
    psql "` + direct + `" -c "INSERT INTO customers (tenant, email) VALUES ('acme', 'plain')"  # ERROR 23514: not an envelope`
}
