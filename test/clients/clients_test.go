package clients

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// suite is what the runs of one TestClients share: the proxy binary and the compiled Java class.
type suite struct {
	dir      string
	proxyBin string

	javaOnce sync.Once
	javaDir  string
	javaErr  error
}

// run is one pass of every client through its own proxy and database.
type run struct {
	name      string
	encrypted bool
	// ddl creates the table; with encryption, email is bytea and the UNIQUE index is on the
	// equality term at its fixed offset in the envelope (internal/crypto doc).
	ddl string
}

// runs: the encrypted one is last (fleet_test.go uses its tables).
var runs = []run{
	{name: "through the relay, email in plaintext", encrypted: false, ddl: `
		CREATE TABLE users (id int PRIMARY KEY, tenant text, email text, name text);
		CREATE UNIQUE INDEX users_email ON users (email);
		CREATE TABLE bulk (id int PRIMARY KEY, email text)`},
	{name: "with users.email encrypted", encrypted: true, ddl: `
		CREATE TABLE users (id int PRIMARY KEY, tenant text, email bytea, name text);
		CREATE UNIQUE INDEX users_email_term ON users ((substring(email from 24 for 16)));
		CREATE TABLE bulk (id int PRIMARY KEY, email bytea)`},
}

// bulkRows rows of the table bulk, (id, bulkEmail(id)), are written through the proxy before the
// clients start; each client reads them all, so that a long result (decrypted in batches, on a
// grown read buffer, with helper goroutines: internal/seal/rows.go) crosses every driver.
const bulkRows = 3000

func bulkEmail(id int) string { return fmt.Sprintf("b%05d@bulk.example", id) }

// fillBulk writes the bulk rows through the proxy at addr as role, under the keyset acme.
func fillBulk(t *testing.T, addr, role, database string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", role, addr, database))
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET app.tenant = 'acme'"); err != nil {
		t.Fatal(err)
	}
	const perStatement = 500
	for first := 1; first <= bulkRows; first += perStatement {
		var vals []string
		var args []any
		for id := first; id < first+perStatement; id++ {
			vals = append(vals, fmt.Sprintf("($%d, $%d)", len(args)+1, len(args)+2))
			args = append(args, id, bulkEmail(id))
		}
		if _, err := conn.Exec(ctx, "INSERT INTO bulk (id, email) VALUES "+strings.Join(vals, ", "), args...); err != nil {
			t.Fatalf("fill bulk: %v", err)
		}
	}
}

func TestClients(t *testing.T) {
	s := &suite{dir: t.TempDir()}
	s.proxyBin = buildProxy(t, s.dir)
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			db := pgtest.New(t)
			db.Exec(t, r.ddl)
			role := db.Server.CreateRole(t, "app", "unused-with-trust", pgtest.AuthTrust)
			dir := t.TempDir()
			kr, master := newKeyring(t, dir, role)
			addr := startProxy(t, s.proxyBin, dir, proxyConfig(db.Server.Addr(), kr, r.encrypted), master)
			fillBulk(t, addr, role, db.Name)
			for _, c := range clients {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					runClient(t, s, c, r, addr, role, db)
				})
			}
		})
	}
}

// runClient runs one client's scenario through the proxy at addr and compares its transcript.
func runClient(t *testing.T, s *suite, c client, r run, addr, role string, db *pgtest.DB) {
	if why := c.available(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI: %s", c.name, why)
		}
		t.Skipf("%s: %s", c.name, why)
	}
	argv := c.command(t, s)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(envWithout("PG"),
		"PGHOST="+host, "PGPORT="+port, "PGUSER="+role, "PGDATABASE="+db.Name, "PGSSLMODE=disable",
		"PGSEAL_CLIENT="+c.name, "PGSEAL_BASE="+strconv.Itoa(c.base))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	want := expectedTranscript(c.name, c.base, r.encrypted)
	if diff := lineDiff(stdout.String(), want); diff != "" || runErr != nil {
		t.Fatalf("%s scenario: exit %v; transcript differs from the expected one:\n%s\nstderr:\n%s",
			c.name, runErr, diff, stderr.String())
	}
	if r.encrypted {
		checkStoredCiphertext(t, db, c)
	}
}

// lineDiff lists the lines of got that differ from want, or "" when they are equal.
func lineDiff(got, want string) string {
	if got == want {
		return ""
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d: got  %q\n        want %q\n", i+1, gl, wl)
		}
	}
	if b.Len() == 0 {
		b.WriteString("(only line endings differ)\n")
	}
	return b.String()
}

// checkStoredCiphertext reads the client's rows straight from PostgreSQL, bypassing pgseal: every
// e-mail must be a v1 envelope (0x01 version, 0x01 suite) with an equality term, and no stored byte
// string may contain any plaintext address the client wrote.
func checkStoredCiphertext(t *testing.T, db *pgtest.DB, c client) {
	t.Helper()
	conn := db.Conn(t)
	rows, err := conn.Query(context.Background(),
		"SELECT id, email FROM users WHERE id BETWEEN $1 AND $2 ORDER BY id", c.base, c.base+99)
	if err != nil {
		t.Fatalf("query stored rows: %v", err)
	}
	defer rows.Close()
	alice, bob, carol, alice2 := emails(c.name)
	plaintexts := []string{alice, bob, carol, alice2, c.name + "@acme.example"}
	var ids []int
	for rows.Next() {
		var id int
		var email []byte
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatalf("scan stored row: %v", err)
		}
		ids = append(ids, id)
		if email == nil {
			continue
		}
		if len(email) < 3 || email[0] != 0x01 || email[1] != crypto.DefaultSuite() || email[2]&0x01 == 0 {
			t.Errorf("stored email of id %d starts %x, want version 01, the default suite and the term flag", id, email[:min(len(email), 3)])
		}
		for _, p := range plaintexts {
			if bytes.Contains(email, []byte(p)) {
				t.Errorf("stored email of id %d contains the plaintext %q", id, p)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read stored rows: %v", err)
	}
	want := fmt.Sprint([]int{c.base + 1, c.base + 3, c.base + 4})
	if got := fmt.Sprint(ids); got != want {
		t.Errorf("stored ids = %s, want %s", got, want)
	}
}
