package clients

import (
	"context"
	"testing"
)

// TestPsycopgMatrix runs python/matrix_psycopg.py (psycopg 3) on items (matrix_test.go) directly
// and through pgseal: binary parameters (%b and binary=True) and binary results, binary COPY in
// and out with set_types, and pipeline mode, one part per subtest.
func TestPsycopgMatrix(t *testing.T) {
	requireRuntime(t, "psycopg 3", needPython("psycopg")())
	bin := buildProxy(t, t.TempDir())
	for _, sc := range []struct{ name, part string }{
		{"binary parameters and results of every type", "binary"},
		{"binary COPY in and out with set_types", "copy"},
		{"pipeline mode with inserts, lookups and a failing insert", "pipeline"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			m := newMatrix(t, bin)
			argv := []string{systemPython, abs("python/matrix_psycopg.py"), sc.part}
			direct := runProgram(t, argv, m.plain.Server.Addr(), m.role, m.plain.Name)
			through := runProgram(t, argv, m.proxyAddr, m.role, m.enc.Name)
			compare(t, direct, through)
			checkItemsCiphertext(t, m.enc, countItems(t, m))
		})
	}
}

// countItems is how many rows the scenario left in the plaintext database.
func countItems(t *testing.T, m *matrix) int {
	t.Helper()
	var n int
	if err := m.plain.Conn(t).QueryRow(context.Background(), "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatalf("count plaintext items: %v", err)
	}
	return n
}
