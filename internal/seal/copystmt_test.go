package seal

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// copyRows are values that stress COPY quoting and escaping, in the order of users' ids.
var copyRows = []struct {
	email *string
	age   *int32
}{
	{ptr("plain@example.com"), ptr[int32](30)},
	{ptr(`comma,"quote"` + "\ttab\nnewline\\back\rcr"), ptr[int32](-1)},
	{ptr(`\.`), nil},
	{nil, ptr[int32](0)},
	{ptr(""), ptr[int32](2147483647)},
	{ptr("ünïcødé ✓ \\N NULL"), ptr[int32](7)},
}

func ptr[T any](v T) *T { return &v }

// sealCopyCSV renders copyRows as CSV lines "tenant,email,age" the way a client would send them.
func sealCopyCSV() string {
	var b strings.Builder
	for _, r := range copyRows {
		b.WriteString("acme,")
		if r.email != nil {
			b.WriteString(`"` + strings.ReplaceAll(*r.email, `"`, `""`) + `"`)
		}
		b.WriteString(",")
		if r.age != nil {
			b.WriteString(itoa32(*r.age))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sealCopyText renders copyRows in COPY's text format.
func sealCopyText() string {
	esc := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	var b strings.Builder
	for _, r := range copyRows {
		b.WriteString("acme\t")
		if r.email != nil {
			b.WriteString(esc.Replace(*r.email))
		} else {
			b.WriteString(`\N`)
		}
		b.WriteString("\t")
		if r.age != nil {
			b.WriteString(itoa32(*r.age))
		} else {
			b.WriteString(`\N`)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func itoa32(v int32) string { return strconv.Itoa(int(v)) }

// checkCopiedRows reads users through the proxy and directly: every value decrypts to copyRows,
// and PostgreSQL holds only envelopes.
func (e *sealEnv) checkCopiedRows(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := ctxT(t)
	rows, _ := conn.Query(ctx, "SELECT email, age FROM users ORDER BY id")
	i := 0
	for rows.Next() {
		var email *string
		var age *int32
		if err := rows.Scan(&email, &age); err != nil {
			t.Fatalf("Scan() = %v", err)
		}
		if i >= len(copyRows) {
			t.Fatalf("SELECT returned more than %d rows", len(copyRows))
		}
		w := copyRows[i]
		if (email == nil) != (w.email == nil) || (email != nil && *email != *w.email) || (age == nil) != (w.age == nil) || (age != nil && *age != *w.age) {
			t.Fatalf("row %d = %v, %v, want %v, %v", i, deref(email), deref(age), deref(w.email), deref(w.age))
		}
		i++
	}
	if err := rows.Err(); err != nil || i != len(copyRows) {
		t.Fatalf("SELECT = %d rows, %v, want %d", i, err, len(copyRows))
	}
	acme := e.keysetID(t, "acme")
	direct, _ := e.direct(t).Query(ctx, "SELECT email, age FROM users")
	for direct.Next() {
		var email, age []byte
		if err := direct.Scan(&email, &age); err != nil {
			t.Fatalf("direct Scan() = %v", err)
		}
		for _, v := range [][]byte{email, age} {
			if v == nil {
				continue
			}
			if h, err := crypto.ParseHeader(v); err != nil || h.Keyset != acme {
				t.Fatalf("stored value %x: header %v, %v, want an envelope of acme", v, h.Keyset, err)
			}
			if bytes.Contains(v, []byte("example.com")) {
				t.Fatalf("stored value %x holds plaintext", v)
			}
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestSealCopyFromStdinEncrypts(t *testing.T) {
	for _, tc := range []struct{ name, sql, data string }{
		{"CSV rows are encrypted field by field", "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)", sealCopyCSV()},
		{"text rows are encrypted field by field", "COPY users (tenant, email, age) FROM STDIN", sealCopyText()},
		{"a CSV header and a final row without a line end pass", "COPY users (tenant, email, age) FROM STDIN (FORMAT csv, HEADER true)",
			"tenant,email,age\n" + strings.TrimSuffix(sealCopyCSV(), "\n")},
		{"a COPY sharing its query with statements before and after it", "SET app.tenant = 'acme'; SELECT 1; COPY users (tenant, email, age) FROM STDIN (FORMAT csv)", sealCopyCSV()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgtest.Shared(t)
			checkGoroutines(t)
			e := newSealEnv(t, "multi", sealSchema, sealColumns)
			conn := e.connect(t, "", "acme")
			ctx := ctxT(t)
			tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(tc.data), tc.sql)
			if err != nil || tag.RowsAffected() != int64(len(copyRows)) {
				t.Fatalf("CopyFrom() = %v, %v, want %d rows", tag, err, len(copyRows))
			}
			e.checkCopiedRows(t, conn)
		})
	}
}

func TestSealCopyToStdoutDecrypts(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(sealCopyCSV()), "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)"); err != nil {
		t.Fatalf("CopyFrom() = %v", err)
	}
	// The plaintext table holds the same rows: PostgreSQL's own COPY output is the reference.
	plain := e.direct(t)
	if _, err := plain.Exec(ctx, "CREATE TABLE ref (id serial, tenant text, email text, name text, age int4)"); err != nil {
		t.Fatalf("CREATE TABLE ref = %v", err)
	}
	if _, err := plain.PgConn().CopyFrom(ctx, strings.NewReader(sealCopyCSV()), "COPY ref (tenant, email, age) FROM STDIN (FORMAT csv)"); err != nil {
		t.Fatalf("direct CopyFrom() = %v", err)
	}
	for _, tc := range []struct{ name, via, ref string }{
		{"a table in text format", "COPY users TO STDOUT", "COPY ref TO STDOUT"},
		{"a table in CSV with a header", "COPY users (id, email, age) TO STDOUT (FORMAT csv, HEADER)", "COPY ref (id, email, age) TO STDOUT (FORMAT csv, HEADER)"},
		{"a query in CSV", "COPY (SELECT email, age, id FROM users WHERE email IS NOT NULL ORDER BY id) TO STDOUT (FORMAT csv)",
			"COPY (SELECT email, age, id FROM ref WHERE email IS NOT NULL ORDER BY id) TO STDOUT (FORMAT csv)"},
		{"a query with an equality lookup", "COPY (SELECT id, email FROM users WHERE email = 'plain@example.com') TO STDOUT",
			"COPY (SELECT id, email FROM ref WHERE email = 'plain@example.com') TO STDOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, want bytes.Buffer
			if _, err := conn.PgConn().CopyTo(ctx, &got, tc.via); err != nil {
				t.Fatalf("CopyTo() = %v", err)
			}
			if _, err := plain.PgConn().CopyTo(ctx, &want, tc.ref); err != nil {
				t.Fatalf("direct CopyTo() = %v", err)
			}
			if g, w := strings.ReplaceAll(got.String(), "users", "ref"), want.String(); g != w {
				t.Fatalf("CopyTo() = %q, want %q", g, w)
			}
		})
	}
}

func TestSealCopyRefusals(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	if _, err := e.mgr.CreateKeyset(context.Background(), "initech", ""); err != nil {
		t.Fatalf("CreateKeyset() = %v", err)
	}
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for _, tc := range []struct {
		name, tenant, sql, data, code string
	}{
		{"a value that is not of the column's type fails the COPY", "acme", "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)",
			"acme,a@x,1\nacme,b@x,not-a-number\nacme,c@x,3\n", "22P02"},
		{"a bad first row fails the COPY while the client still sends much more data", "acme", "COPY users (tenant, age) FROM STDIN (FORMAT csv)",
			"acme,not-a-number\n" + strings.Repeat("acme,1\n", 100000), "22P02"},
		{"a row with too few fields fails the COPY", "acme", "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)", "acme,a@x\n", "22P04"},
		{"a tenant without a grant is refused", "initech", "COPY users (tenant, email) FROM STDIN (FORMAT csv)", "acme,a@x\n", "42501"},
		{"no tenant is refused in multi mode", "", "COPY users (tenant, email) FROM STDIN (FORMAT csv)", "acme,a@x\n", "42501"},
		{"an empty binary COPY has no signature", "acme", "COPY users FROM STDIN (FORMAT binary)", "", "22P04"},
		{"FORCE_NULL on an encrypted column is refused", "acme", "COPY users (tenant, email) FROM STDIN (FORMAT csv, FORCE_NULL (email))", "acme,a@x\n", "0A000"},
		{"COPY FROM after another COPY FROM in its query is refused", "acme", "COPY notes FROM STDIN; COPY users (tenant, email) FROM STDIN (FORMAT csv)", "acme,a@x\n", "0A000"},
		{"COPY FROM after a SET DateStyle in its query is refused", "acme", "SET DateStyle = 'German'; COPY users (tenant, email) FROM STDIN (FORMAT csv)", "acme,a@x\n", "0A000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conn
			if tc.tenant != "acme" {
				c = e.connect(t, "", tc.tenant)
			}
			_, err := c.PgConn().CopyFrom(ctx, strings.NewReader(tc.data), tc.sql)
			if got := stateOf(err); got != tc.code {
				t.Fatalf("CopyFrom() = %v, want SQLSTATE %s", err, tc.code)
			}
			if strings.Contains(err.Error(), "not-a-number") {
				t.Fatalf("CopyFrom() error %q holds the value", err)
			}
			if pe := pgError(err); tc.code == "22P02" && !strings.HasPrefix(pe.Detail, "COPY data line ") {
				t.Fatalf("CopyFrom() detail = %q, want the line and field", pe.Detail)
			}
			var n int
			if err := c.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
				t.Fatalf("SELECT count(*) after the COPY = %d, %v, want 0 and a usable session", n, err)
			}
		})
	}
	t.Run("a row of another keyset fails COPY TO and the session stays usable", func(t *testing.T) {
		g := e.connect(t, "", "globex")
		if _, err := g.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ('globex', 'g@x')"); err != nil {
			t.Fatalf("INSERT as globex = %v", err)
		}
		_, err := conn.PgConn().CopyTo(ctx, &bytes.Buffer{}, "COPY users (id, email) TO STDOUT")
		if got := stateOf(err); got != "42501" {
			t.Fatalf("CopyTo() = %v, want SQLSTATE 42501", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
			t.Fatalf("SELECT count(*) after the COPY = %d, %v, want 1", n, err)
		}
	})
	t.Run("COPY in the extended protocol is prepared (copystmt_extended_test.go runs it)", func(t *testing.T) {
		if _, err := conn.PgConn().Prepare(ctx, "", "COPY users TO STDOUT", nil); err != nil {
			t.Fatalf("Prepare(COPY) = %v", err)
		}
	})
}
