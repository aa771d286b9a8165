package seal

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// TestSealShapeTemplates: simple-protocol texts that differ only in their literals share one
// analysis (rewrite.Template). Each must still encrypt its own values, stored as ciphertext and
// found by equality, and a literal-dependent text (ORDER BY position) must still be refused.
func TestSealShapeTemplates(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	simple := pgx.QueryExecModeSimpleProtocol
	emails := []string{"a@x", "a much longer address@example.com", "it''s@x", ""}
	hits := counterValue(e.p.m.AnalyzeCache.WithLabelValues("hit"))
	for i, email := range emails {
		var id int
		sql := fmt.Sprintf("INSERT INTO users (tenant, email, age) VALUES ('acme', '%s', %d) RETURNING id", email, 20+i*1000)
		if err := conn.QueryRow(ctx, sql, simple).Scan(&id); err != nil {
			t.Fatalf("%s = %v", sql, err)
		}
		if plain := pgxUnquote(email); len(plain) >= 4 {
			e.storedEmail(t, id, plain)
		}
	}
	if got := counterValue(e.p.m.AnalyzeCache.WithLabelValues("hit")); got < hits+float64(len(emails)-1) {
		t.Errorf("analyze hits = %v, want at least %v (one shape for the INSERTs)", got, hits+float64(len(emails)-1))
	}
	for i, email := range emails {
		var got string
		var age int
		sql := fmt.Sprintf("SELECT email, age FROM users WHERE email = '%s' AND id > %d", email, i-1000)
		if err := conn.QueryRow(ctx, sql, simple).Scan(&got, &age); err != nil {
			t.Fatalf("%s = %v", sql, err)
		}
		if want := pgxUnquote(email); got != want || age != 20+i*1000 {
			t.Errorf("%s = %q, %d, want %q, %d", sql, got, age, want, 20+i*1000)
		}
	}
	for _, c := range []struct {
		sql  string
		code string
	}{
		{"SELECT id, email FROM users ORDER BY 1", ""},
		{"SELECT id, email FROM users ORDER BY 2", sqlstate.FeatureNotSupported},
	} {
		_, err := conn.Exec(ctx, c.sql, simple)
		if got := pgError(err).Code; got != c.code {
			t.Errorf("%s: SQLSTATE = %q, want %q", c.sql, got, c.code)
		}
	}
}

// pgxUnquote undoes the SQL quote doubling of the test's literals.
func pgxUnquote(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'' {
			i++
		}
	}
	return string(out)
}
