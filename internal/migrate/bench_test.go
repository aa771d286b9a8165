package migrate

import (
	"fmt"
	"testing"
)

// BenchmarkBackfill encrypts a 100,000-row table with one text column (no writer) and reports
// the backfill rate (target: at least 20,000 rows/s on the 2-core machine) and the whole run's.
//
//	go test ./internal/migrate -run '^$' -bench Backfill -benchtime 3x
func BenchmarkBackfill(b *testing.B) {
	const rows = 100_000
	f := newFixture(b)
	col := mustColumn(b, configEncrypt("bench", "email", "text", true))
	var backfill, total float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f.exec(b, `DROP TABLE IF EXISTS bench; DROP SCHEMA IF EXISTS pgseal CASCADE`)
		f.exec(b, `CREATE TABLE bench (id bigint PRIMARY KEY, email text)`)
		f.exec(b, fmt.Sprintf(`INSERT INTO bench SELECT i, 'user' || i || '@example.com' FROM generate_series(1, %d) i`, rows))
		f.exec(b, `VACUUM ANALYZE bench`)
		b.StartTimer()
		rep, err := Encrypt(ctxT(b), f.conn, f.snap(), col, EncryptOptions{Keyset: "default"})
		if err != nil {
			b.Fatalf("Encrypt() = %v", err)
		}
		backfill += rep.RowsPerSecond
		total += float64(rows) / rep.Seconds
	}
	b.ReportMetric(backfill/float64(b.N), "backfill-rows/s")
	b.ReportMetric(total/float64(b.N), "total-rows/s")
}
