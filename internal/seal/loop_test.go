package seal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestSealLargeValuesOnTheLoop: on the event loop, a message far longer than the read buffer
// (16 KiB) is accumulated until whole, in both directions and every protocol mode: a Bind or
// Query carrying an encrypted value of a few MiB, its DataRow on the way back, and a plain value
// of the same size beside it.
func TestSealLargeValuesOnTheLoop(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for i, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			email := fmt.Sprintf("%d-%s@example.com", i, strings.Repeat("x", 3<<20))
			name := strings.Repeat("n", 2<<20+i)
			var id int
			if err := conn.QueryRow(ctx, "INSERT INTO users (tenant, email, name, age) VALUES ('acme', $1, $2, 1) RETURNING id",
				mode, email, name).Scan(&id); err != nil {
				t.Fatalf("INSERT = %v", err)
			}
			if stored := e.storedEmail(t, id, email); strings.Contains(string(stored), "xxxxxxxx") {
				t.Fatal("the stored email holds plaintext")
			}
			var gotEmail, gotName string
			if err := conn.QueryRow(ctx, "SELECT email, name FROM users WHERE id = $1", mode, id).Scan(&gotEmail, &gotName); err != nil {
				t.Fatalf("SELECT = %v", err)
			}
			if gotEmail != email || gotName != name {
				t.Fatalf("SELECT = %d-byte email, %d-byte name; want %d and %d bytes, equal", len(gotEmail), len(gotName), len(email), len(name))
			}
		})
	}
}
