package value

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestOrderFormMatchesServerOrder ranks the corpus (plus edge values) of every ordered type with
// PostgreSQL's own ORDER BY (text under COLLATE "C") and checks that the order forms sort the
// same way, ties included.
func TestOrderFormMatchesServerOrder(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil { // as the empty Session below
		t.Fatal(err)
	}
	extra := map[Type][]string{
		Numeric: {"NaN", "Infinity", "-Infinity", "0", "-0.000", "1.0", "1.00", "1", "0.1", "-0.1", "-1", "-1.00", "1e-1000", "-1e-1000",
			"1e1000", "99999999.99999999", "100000000", "-99999999.99999999", "0.00010", "0.0001", "12345.6789", "12345.67891"},
		Float8: {"NaN", "Infinity", "-Infinity", "0", "-0", "1e-320", "-1e-320", "1.7976931348623157e308", "-2.5"},
		Float4: {"NaN", "Infinity", "-Infinity", "0", "-0", "1e-45", "-1e-45", "3.4028235e38", "-2.5"},
		Text:   {"", "a", "ab", "abc", "A", "b", "é", "e", "日本", "日", "\U0001F600", "a b", "Z"},
		Int2:   {"-32768", "32767", "0", "-1"},
		Int4:   {"-2147483648", "2147483647", "0", "-1"},
		Int8:   {"-9223372036854775808", "9223372036854775807", "0", "-1"},
		Date:   {"-infinity", "infinity", "4713-01-01 BC", "5874897-12-31", "2000-01-01"},
	}
	for typ := Text; typ <= Bytea; typ++ {
		if !SupportsOrder(typ) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			var ins []string
			var forms [][]byte
			for _, in := range append(append([]string(nil), corpus[typ]...), extra[typ]...) {
				p, err := Encode(nil, typ, FormatText, []byte(in), &Session{})
				if err != nil {
					continue // invalid inputs of the corpus
				}
				f, err := OrderForm(nil, typ, p)
				if err != nil {
					t.Fatal(err)
				}
				ins, forms = append(ins, in), append(forms, f)
			}
			coll := ""
			if typ == Text || typ == Varchar {
				coll = ` COLLATE "C"`
			}
			sql := fmt.Sprintf(`SELECT (i - 1)::int, dense_rank() OVER (ORDER BY s::%s%s)::int
				FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i)`, typ, coll)
			rows, err := conn.Query(ctx, sql, ins)
			if err != nil {
				t.Fatal(err)
			}
			rank := make([]int, len(ins))
			for rows.Next() {
				var i, r int
				if err := rows.Scan(&i, &r); err != nil {
					t.Fatal(err)
				}
				rank[i] = r
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			for i := range ins {
				for j := range ins {
					if got, want := cmpSign(bytes.Compare(forms[i], forms[j])), cmpSign(rank[i]-rank[j]); got != want {
						t.Fatalf("%q vs %q: forms compare %d, PostgreSQL %d", ins[i], ins[j], got, want)
					}
				}
			}
			t.Logf("%d values", len(ins))
		})
	}
}
