package clients

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// batchEncrypt configures notes.body (text) and notes.label (varchar) encrypted, both searchable.
const batchEncrypt = `
[[encrypt]]
table = "public.notes"
column = "body"
type = "text"
search = ["eq"]

[[encrypt]]
table = "public.notes"
column = "label"
type = "varchar"
search = ["eq"]
`

// batchTranscript is what java/Batch.java prints, directly and through pgseal alike.
const batchTranscript = `insert batch: [1, 1, 1, 1]
insert batch: [1, 1, 1, 1]
update batch: [1, 1, 0]
delete batch: [1, 1]
row: 1 | body 1 | label 1
row: 2 | new label 2 | label 2
row: 4 | body 4 | null
row: 11 | body 11 | label 11
row: 12 | new label 12 | label 12
row: 14 | body 14 | null
by label: 11
`

// TestJDBCBatchWithSetString runs java/Batch.java (executeBatch with setString, which declares
// varchar, on an encrypted text column and an encrypted varchar column) directly on plaintext
// columns and through pgseal on encrypted ones: the transcripts must be identical, and what
// PostgreSQL stores through pgseal must be ciphertext.
func TestJDBCBatchWithSetString(t *testing.T) {
	if why := needJava(); why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("jdbc is required under CI: %s", why)
		}
		t.Skip(why)
	}
	s := &suite{dir: t.TempDir()}
	bin := buildProxy(t, s.dir)
	classes := s.compileJava(t)
	plain := pgtest.New(t)
	plain.Exec(t, "CREATE TABLE notes (id int PRIMARY KEY, body text, label varchar(40))")
	enc := pgtest.New(t)
	enc.Exec(t, "CREATE TABLE notes (id int PRIMARY KEY, body bytea, label bytea)")
	role := enc.Server.CreateRole(t, "app", "unused-with-trust", pgtest.AuthTrust)
	dir := t.TempDir()
	kr, master := newKeyring(t, dir, role)
	addr := startProxy(t, bin, dir, proxyConfig(enc.Server.Addr(), kr, false)+batchEncrypt, master)

	direct := runBatch(t, classes, plain.Server.Addr(), role, plain.Name)
	if direct != batchTranscript {
		t.Fatalf("Batch directly printed:\n%s\nwant:\n%s", direct, batchTranscript)
	}
	through := runBatch(t, classes, addr, role, enc.Name)
	if diff := lineDiff(through, direct); diff != "" {
		t.Fatalf("Batch through pgseal differs from directly:\n%s", diff)
	}
	checkNotesCiphertext(t, enc)
}

// runBatch runs java/Batch.java against addr and returns its transcript.
func runBatch(t *testing.T, classes, addr, role, database string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", classes+string(os.PathListSeparator)+jdbcJar, "Batch")
	cmd.Env = append(envWithout("PG"), "PGHOST="+host, "PGPORT="+port, "PGUSER="+role, "PGDATABASE="+database)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("java Batch on %s: %v\nstdout:\n%s\nstderr:\n%s", addr, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// checkNotesCiphertext reads notes straight from PostgreSQL: every non-NULL body and label is a v1
// envelope with an equality term and contains none of the plaintext.
func checkNotesCiphertext(t *testing.T, db *pgtest.DB) {
	t.Helper()
	rows, err := db.Conn(t).Query(context.Background(), "SELECT id, body, label FROM notes ORDER BY id")
	if err != nil {
		t.Fatalf("query stored notes: %v", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int
		var body, label []byte
		if err := rows.Scan(&id, &body, &label); err != nil {
			t.Fatalf("scan stored note: %v", err)
		}
		n++
		for _, v := range [][]byte{body, label} {
			if v == nil {
				continue
			}
			if len(v) < 3 || v[0] != 0x01 || v[1] != crypto.DefaultSuite() || v[2]&0x01 == 0 {
				t.Errorf("stored value of note %d starts %x, want version 01, the default suite and the term flag", id, v[:min(len(v), 3)])
			}
			for _, p := range []string{"body ", "label "} {
				if bytes.Contains(v, []byte(p)) {
					t.Errorf("stored value of note %d contains the plaintext %q", id, p)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read stored notes: %v", err)
	}
	if n != 6 {
		t.Errorf("stored notes = %d, want 6", n)
	}
}
