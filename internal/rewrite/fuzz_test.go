package rewrite

import (
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// marker is a plaintext that must never reach PostgreSQL when it is an encrypted column's value.
const marker = "MARKERzq"

// FuzzAnalyze: Analyze never panics; rendered output reparses; a marker literal assigned to or
// compared with an encrypted column never survives rendering.
func FuzzAnalyze(f *testing.F) {
	for _, seed := range []string{
		"INSERT INTO users (email, name) VALUES ('" + marker + "', 'n')",
		"INSERT INTO users VALUES (1, '" + marker + "'::text, 'x', E'" + marker + "', 2)",
		"UPDATE users SET email = $$" + marker + "$$ WHERE email IN ('" + marker + "', $1)",
		"SELECT * FROM users u JOIN invites i ON i.email = u.email WHERE u.email = text '" + marker + "'",
		"INSERT INTO users (id, email) VALUES (1, '" + marker + "') ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email",
		"WITH x AS (SELECT email FROM users WHERE email = '" + marker + "') SELECT * FROM x UNION ALL SELECT email FROM users",
		"SELECT set_config('app.tenant', $1, false); SET LOCAL app.tenant = 'b'",
		"COPY (SELECT email FROM users WHERE email = ANY(ARRAY['" + marker + "'])) TO STDOUT",
		"SELECT id FROM payments WHERE amount = -5 OR paid_at IS NULL",
		"SELECT count(email) FILTER (WHERE email = '" + marker + "') OVER (PARTITION BY id) FROM users",
		"DO $$BEGIN INSERT INTO users (email) VALUES ('" + marker + "'); END$$",
		"CREATE INDEX ON users ((email = '" + marker + "')) WHERE ssn = '" + marker + "'",
		"EXECUTE s1('" + marker + "'); DEALLOCATE s1",
	} {
		f.Add(seed)
	}
	s := loadSchema(f)
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := Analyze(sql, s)
		if err != nil {
			return
		}
		out, err := p.Render(byteaFill)
		if err != nil {
			t.Fatalf("Render() error %v for %q", err, sql)
		}
		if len(p.Edits) == 0 {
			if out != sql {
				t.Fatalf("Render() without edits changed the text")
			}
			return
		}
		if _, err := pg.Parse(out); err != nil {
			t.Fatalf("rendered SQL does not reparse: %v\nin:  %q\nout: %q", err, sql, out)
		}
		// Markers may legitimately remain in text no edit touched; any more in the output
		// came from an edit, i.e. from an encrypted literal.
		kept, prev := 0, 0
		for _, e := range p.Edits {
			kept += strings.Count(sql[prev:e.Start], marker)
			prev = e.End
		}
		kept += strings.Count(sql[prev:], marker)
		if strings.Count(out, marker) > kept {
			t.Fatalf("rendered SQL contains an encrypted literal\nin:  %q\nout: %q", sql, out)
		}
	})
}
