package clients

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
)

// The matrix scenarios (matrix_pgx_test.go, matrix_psycopg_test.go, matrix_jdbc_test.go) share one
// table, items, with a column of every plaintext type pgseal encrypts. A scenario runs the same
// program twice: directly against PostgreSQL on itemsPlainDDL, and through pgseal on itemsEncDDL
// (every column but id is bytea and encrypted, matrixEncrypt). The transcripts must be identical,
// and what PostgreSQL stores through pgseal must be envelopes holding none of the plaintext.

// itemsColumns are the columns of items after id, in table order, with their plaintext types.
var itemsColumns = []struct{ name, typ string }{
	{"t", "text"}, {"vc", "varchar"}, {"i2", "int2"}, {"i4", "int4"}, {"i8", "int8"},
	{"f4", "float4"}, {"f8", "float8"}, {"num", "numeric"}, {"b", "bool"}, {"d", "date"},
	{"ts", "timestamp"}, {"tstz", "timestamptz"}, {"u", "uuid"}, {"j", "json"}, {"jb", "jsonb"},
	{"by", "bytea"},
}

// itemsSearched are the columns with equality search (an envelope with a term).
var itemsSearched = map[string]bool{"t": true, "vc": true, "i8": true, "u": true}

// itemsOrd and itemsMatch are the columns with order and LIKE search (docs/search.md); t orders by
// bytes, so the plaintext table declares it COLLATE "C".
var (
	itemsOrd   = map[string]bool{"t": true, "i4": true, "f8": true, "num": true, "d": true, "tstz": true}
	itemsMatch = map[string]bool{"t": true}
)

const itemsPlainDDL = `CREATE TABLE items (id int PRIMARY KEY, t text COLLATE "C", vc varchar(40), i2 int2, i4 int4,
	i8 int8, f4 float4, f8 float8, num numeric, b bool, d date, ts timestamp, tstz timestamptz,
	u uuid, j json, jb jsonb, "by" bytea)`

const itemsEncDDL = `CREATE TABLE items (id int PRIMARY KEY, t bytea, vc bytea, i2 bytea, i4 bytea,
	i8 bytea, f4 bytea, f8 bytea, num bytea, b bytea, d bytea, ts bytea, tstz bytea,
	u bytea, j bytea, jb bytea, "by" bytea)`

// matrixEncrypt is the [[encrypt]] configuration of items.
func matrixEncrypt() string {
	var b strings.Builder
	for _, c := range itemsColumns {
		fmt.Fprintf(&b, "\n[[encrypt]]\ntable = \"public.items\"\ncolumn = %q\ntype = %q\n", c.name, c.typ)
		var search, leak []string
		if itemsSearched[c.name] {
			search = append(search, `"eq"`)
		}
		if itemsOrd[c.name] {
			search, leak = append(search, `"ord"`), append(leak, `"ord"`)
		}
		if itemsMatch[c.name] {
			search, leak = append(search, `"match"`), append(leak, `"match"`)
		}
		if len(search) > 0 {
			fmt.Fprintf(&b, "search = [%s]\n", strings.Join(search, ", "))
		}
		if len(leak) > 0 {
			fmt.Fprintf(&b, "accept_leakage = [%s]\n", strings.Join(leak, ", "))
		}
		if itemsOrd[c.name] && c.typ == "text" {
			b.WriteString("text_order = \"bytes\"\n")
		}
	}
	return b.String()
}

// itemsSearchIndexes are pgseal's order and match indexes of items, which make those searches
// usable through pgseal (a column without its index refuses them).
func itemsSearchIndexes() string {
	var b strings.Builder
	for _, c := range itemsColumns {
		id := "public.items." + c.name
		if itemsOrd[c.name] {
			fmt.Fprintf(&b, "CREATE INDEX %s ON items ((%s));\n", catalog.SearchIndexName(id, catalog.IndexOrd), rewrite.OrdExpr(c.name, itemsSearched[c.name]))
		}
		if itemsMatch[c.name] {
			fmt.Fprintf(&b, "CREATE INDEX %s ON items USING gin ((%s));\n", catalog.SearchIndexName(id, catalog.IndexMatch), rewrite.MatchExpr(c.name, itemsSearched[c.name]))
		}
	}
	return b.String()
}

// matrixSecrets are plaintexts the scenarios write (each at least 6 bytes, so that a chance match
// inside random ciphertext is out of the question); none may appear in what PostgreSQL stores.
var matrixSecrets = []string{
	"alpha-text", "bravo-text", "charlie-text", "delta-text", "echo-text", "foxtrot-text",
	"alpha-vc", "bravo-vc", "charlie-vc", "delta-vc", "echo-vc", "foxtrot-vc",
	"12345.6789", "2024-02-29", "13:14:15", "8f1e5c1e-", "secret-json", "secret-jsonb", "secret-bytes",
}

// matrix is what the scenarios of one test share: a plaintext database to run on directly, an
// encrypted one behind a running pgseal, and the role both are used as.
type matrix struct {
	plain, enc *pgtest.DB
	role       string
	proxyAddr  string
}

// newMatrix sets up fresh databases for one scenario and a proxy in front of the encrypted one.
func newMatrix(t *testing.T, proxyBin string) *matrix {
	t.Helper()
	m := &matrix{plain: pgtest.New(t)}
	m.plain.Exec(t, itemsPlainDDL)
	m.enc = m.plain.Server.NewDB(t)
	m.enc.Exec(t, itemsEncDDL)
	m.enc.Exec(t, itemsSearchIndexes())
	m.role = m.plain.Server.CreateRole(t, "app", "unused-with-trust", pgtest.AuthTrust)
	dir := t.TempDir()
	kr, master := newKeyring(t, dir, m.role)
	m.proxyAddr = startProxy(t, proxyBin, dir, proxyConfig(m.enc.Server.Addr(), kr, false)+matrixEncrypt(), master)
	return m
}

// directURL and proxyURL are pgx connection strings for the two sides.
func (m *matrix) directURL() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", m.role, m.plain.Server.Addr(), m.plain.Name)
}

func (m *matrix) proxyURL() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", m.role, m.proxyAddr, m.enc.Name)
}

// compare fails t when the transcript through pgseal differs from the direct one, or when the
// direct one has no lines (a scenario that printed nothing proves nothing).
func compare(t *testing.T, direct, through string) {
	t.Helper()
	if strings.TrimSpace(direct) == "" {
		t.Fatalf("the scenario printed nothing directly")
	}
	if diff := lineDiff(through, direct); diff != "" {
		t.Fatalf("transcript through pgseal differs from the direct one:\n%s\ndirect transcript:\n%s", diff, direct)
	}
}

// checkItemsCiphertext reads items straight from PostgreSQL: every non-NULL value is a v1 envelope
// (with the term flag on searched columns) and contains none of matrixSecrets; wantRows rows exist.
func checkItemsCiphertext(t *testing.T, db *pgtest.DB, wantRows int) {
	t.Helper()
	rows, err := db.Conn(t).Query(context.Background(), "SELECT * FROM items ORDER BY id")
	if err != nil {
		t.Fatalf("query stored items: %v", err)
	}
	defer rows.Close()
	n, values := 0, 0
	for rows.Next() {
		raw := rows.RawValues()
		id := string(raw[0]) // binary int4; only for messages
		n++
		for i, c := range itemsColumns {
			v := raw[i+1]
			if v == nil {
				continue
			}
			values++
			if len(v) < 3 || v[0] != 0x01 || v[1] != crypto.DefaultSuite() || (v[2]&0x01 != 0) != itemsSearched[c.name] {
				t.Errorf("stored %s of item %x starts %x, want version 01, the default suite and the term flag %v", c.name, id, v[:min(len(v), 3)], itemsSearched[c.name])
			}
			for _, p := range matrixSecrets {
				if bytes.Contains(v, []byte(p)) {
					t.Errorf("stored %s of item %x contains the plaintext %q", c.name, id, p)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read stored items: %v", err)
	}
	if n != wantRows || values == 0 {
		t.Errorf("stored items = %d (%d non-NULL values), want %d", n, values, wantRows)
	}
}

// runProgram runs argv with the libpq environment pointing at addr and database and returns its
// standard output; a non-zero exit fails t with both outputs.
func runProgram(t *testing.T, argv []string, addr, role, database string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(envWithout("PG"), "PGHOST="+host, "PGPORT="+port, "PGUSER="+role, "PGDATABASE="+database,
		"PGSSLMODE=disable", "TZ=UTC")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s on %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), addr, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// requireRuntime skips t when why is not "" (a missing runtime), or fails it under CI.
func requireRuntime(t *testing.T, name, why string) {
	t.Helper()
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI: %s", name, why)
	}
	t.Skipf("%s: %s", name, why)
}
