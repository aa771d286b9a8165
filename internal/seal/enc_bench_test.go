package seal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
)

// encBenchSchema is bench/encrypt_schema.sql: the same table twice, one with an encrypted email.
const encBenchSchema = `
CREATE TABLE bench_plain (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, n int NOT NULL DEFAULT 0);
CREATE TABLE bench_enc (id bigint PRIMARY KEY, email bytea NOT NULL, n int NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX bench_enc_email_eq ON bench_enc ((substring(email from 24 for 16)));
`

// BenchmarkSealScript runs the four statements of bench/encrypt_*.sql through pgseal with one
// encrypted column, on the encrypted and on the plaintext table, in pgbench's simple mode
// (literals in the text) and extended mode (parameters), so that a CPU profile of the proxy's
// request path can be taken in-process:
//
//	go test ./internal/seal -run '^$' -bench SealScript -cpuprofile cpu.out
func BenchmarkSealScript(b *testing.B) {
	e := newSealEnv(b, "multi", encBenchSchema,
		[]config.Encrypt{{Table: "bench_enc", Column: "email", Type: "text", Search: []string{"eq"}}})
	conn := e.connect(b, "", "acme")
	for _, table := range []string{"bench_enc", "bench_plain"} {
		ins := "INSERT INTO " + table + " (id, email, n) VALUES (%s, %s::text, 0) ON CONFLICT DO NOTHING"
		sel := "SELECT id, email, n FROM " + table + " WHERE email = %s::text"
		upd := "UPDATE " + table + " SET n = n + 1 WHERE id = %s"
		get := "SELECT id, email, n FROM " + table + " WHERE id = %s"
		b.Run("simple/"+table, func(b *testing.B) {
			for b.Loop() {
				id := strconv.FormatInt(rand.Int64N(1_000_000_000)+1, 10)
				runStmt(b, conn, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(ins, id, id))
				runStmt(b, conn, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(sel, id))
				runStmt(b, conn, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(upd, id))
				runStmt(b, conn, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(get, id))
			}
		})
		b.Run("extended/"+table, func(b *testing.B) {
			for b.Loop() {
				id := strconv.FormatInt(rand.Int64N(1_000_000_000)+1, 10)
				runStmt(b, conn, pgx.QueryExecModeExec, fmt.Sprintf(ins, "$1", "$2"), id, id)
				runStmt(b, conn, pgx.QueryExecModeExec, fmt.Sprintf(sel, "$1"), id)
				runStmt(b, conn, pgx.QueryExecModeExec, fmt.Sprintf(upd, "$1"), id)
				runStmt(b, conn, pgx.QueryExecModeExec, fmt.Sprintf(get, "$1"), id)
			}
		})
	}
}

// runStmt executes sql and reads its rows.
func runStmt(b *testing.B, conn *pgx.Conn, mode pgx.QueryExecMode, sql string, args ...any) {
	rows, err := conn.Query(context.Background(), sql, append([]any{mode}, args...)...)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}
