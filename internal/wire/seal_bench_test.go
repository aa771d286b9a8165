package wire

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkSealDecrypt100k reads 100,000 rows of one encrypted text column through pgseal, next
// to the same rows from a plaintext column through pgseal (issue 4's target: at most 2x).
func BenchmarkSealDecrypt100k(b *testing.B) {
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
	cases := []struct {
		name, sql string
		workers   int // rowWorkers: 1 decrypts on the server loop alone, 0 on GOMAXPROCS goroutines
	}{
		{"plaintext", "SELECT email FROM plain", 0},
		{"encrypted", "SELECT email FROM users", 0},
		{"encrypted-1goroutine", "SELECT email FROM users", 1},
	}
	defer func(w int) { rowWorkers = w }(rowWorkers)
	for _, c := range cases {
		rowWorkers = c.workers
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				r, err := conn.Query(ctx, c.sql, pgx.QueryExecModeExec)
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
