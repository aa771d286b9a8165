package seal

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/gcfloor"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// BenchmarkSealDecrypt100k reads 100,000 rows of one encrypted text column through pgseal, next
// to the same rows from a plaintext column through pgseal (issue 4's target: at most 2x).
func BenchmarkSealDecrypt100k(b *testing.B) {
	defer gcfloor.Keep(gcfloor.Floor)() // as `proxy serve` runs
	const rows, perStmt = 100_000, 1000
	e := newSealEnv(b, "multi", sealSchema+"CREATE TABLE plain (id int, email text);", sealColumns)
	conn := e.connect(b, "", "acme")
	ctx := context.Background()
	vals := make([]string, perStmt)
	args := make([]any, perStmt)
	for i := range vals {
		vals[i] = fmt.Sprintf("($%d)", i+1)
	}
	ins := "INSERT INTO users (email) VALUES " + strings.Join(vals, ",")
	for n := 0; n < rows; n += perStmt {
		for i := range args {
			args[i] = fmt.Sprintf("user%07d@example.com", n+i)
		}
		if _, err := conn.Exec(ctx, ins, args...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "INSERT INTO plain SELECT g, 'user' || lpad(g::text, 7, '0') || '@example.com' FROM generate_series(1, 100000) g"); err != nil {
		b.Fatal(err)
	}
	// Exec mode describes nothing before Bind, so the envelopes come as bytea text; with pgx's
	// default statement cache (a named statement, described once) pgseal asks PostgreSQL for them
	// in binary while pgx still gets text (formats.go).
	cases := []struct {
		name, sql string
		mode      pgx.QueryExecMode
	}{
		{"plaintext", "SELECT email FROM plain", pgx.QueryExecModeExec},
		{"encrypted", "SELECT email FROM users", pgx.QueryExecModeExec},
		{"plaintext-prepared", "SELECT email FROM plain", pgx.QueryExecModeCacheStatement},
		{"encrypted-prepared", "SELECT email FROM users", pgx.QueryExecModeCacheStatement},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			batches, helped, ups := rowBatchesRun.Load(), rowsHelped.Load(), upstreamBinary.Load()
			defer func() {
				b.ReportMetric(float64(upstreamBinary.Load()-ups)/float64(b.N), "binary-binds/op")
				if n := rowBatchesRun.Load() - batches; n > 0 {
					b.ReportMetric(float64(rows*b.N)/float64(n), "rows/batch")
					b.ReportMetric(100*float64(rowsHelped.Load()-helped)/float64(rows*b.N), "%helped")
				}
			}()
			for range b.N {
				r, err := conn.Query(ctx, c.sql, c.mode)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for r.Next() {
					n++
				}
				if r.Err() != nil || n != rows {
					b.Fatalf("rows = %d, %v", n, r.Err())
				}
			}
		})
	}
}

// BenchmarkRowBatch decrypts a batch of 64 DataRows of one encrypted text column (hex, as a
// 16 KiB read buffer holds them) without PostgreSQL or a client: the CPU cost per row.
func BenchmarkRowBatch(b *testing.B) {
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(b.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(string) string { return key }
	m, err := keyring.OpenManager(ctx, kcfg, getenv)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Init(ctx); err != nil {
		b.Fatal(err)
	}
	_ = m.Close()
	kr, err := keyring.Open(ctx, kcfg, getenv, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer kr.Close()
	if _, err := kr.Manager().CreateKeyset(ctx, "acme", ""); err != nil {
		b.Fatal(err)
	}
	snap := kr.Snapshot()
	ks, ok := snap.Keyset("acme")
	if !ok {
		b.Fatal("keyset acme missing")
	}
	col := &rewrite.Column{ID: "public.users.email", Table: "users", Name: "email", Type: "text"}
	ck, err := ks.PrimaryColumnKey(col.ID)
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 64)
	for i := range bodies {
		plain, err := value.Encode(nil, value.Text, 0, fmt.Appendf(nil, "user%07d@example.com", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		env, err := ck.Seal(nil, plain, nil)
		if err != nil {
			b.Fatal(err)
		}
		field := append([]byte(`\x`), hex.EncodeToString(env)...)
		bodies[i] = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 1), uint32(len(field)))
		bodies[i] = append(bodies[i], field...)
	}
	cc := &column.Column{Schema: "public", Table: "users", Name: "email", ID: col.ID, Domain: col.ID, Type: value.Text}
	rd := rowDecrypt{snap: snap, lay: &layout{fields: []layField{{col: col, cc: cc, t: value.Text}}},
		se: &stmtExec{ks: keysetRef{ks: ks, id: ks.ID, name: ks.Name}, hasKS: true}, vs: &value.Session{}}
	var sc valueScratch
	var vals [][]byte
	var out rowOut
	for b.Loop() {
		for _, body := range bodies {
			var ok bool
			if vals, ok = appendValues(vals[:0], body); !ok {
				b.Fatal("invalid DataRow")
			}
			rd.decrypt(&sc, vals, &out)
			if out.pe != nil {
				b.Fatalf("decrypt: %v", out.pe)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bodies)), "ns/row")
}
