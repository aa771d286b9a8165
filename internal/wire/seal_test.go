package wire

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestSealRoundTripInEveryMode(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for i, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			email := "user" + string(rune('a'+i)) + "@example.com"
			var id int
			if err := conn.QueryRow(ctx, "INSERT INTO users (tenant, email, name, age) VALUES ('acme', $1, 'n', $2) RETURNING id", mode, email, 30+i).Scan(&id); err != nil {
				t.Fatalf("INSERT = %v", err)
			}
			var got string
			var age int32
			if err := conn.QueryRow(ctx, "SELECT email, age FROM users WHERE email = $1", mode, email).Scan(&got, &age); err != nil {
				t.Fatalf("SELECT = %v", err)
			}
			if got != email || age != int32(30+i) {
				t.Fatalf("SELECT = %q, %d, want %q, %d", got, age, email, 30+i)
			}
			var raw []byte
			if err := e.direct(t).QueryRow(ctx, "SELECT email FROM users WHERE id = $1", id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(email)) || len(raw) < 83 {
				t.Fatalf("stored email = %x, want ciphertext", raw)
			}
		})
	}
	_ = pgx.QueryExecModeExec
}
