package seal

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

func TestTextArray(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // "<nil>" = NULL element
		err      bool
	}{
		{"an empty array has no elements", "{}", nil, false},
		{"bare elements are trimmed", "{ a , b }", []string{"a", "b"}, false},
		{"quoted elements keep spaces, commas and escapes", `{"a b","c,d","e\"f"}`, []string{"a b", "c,d", `e"f`}, false},
		{"NULL is a null element, quoted NULL a string", `{NULL,"NULL"}`, []string{"<nil>", "NULL"}, false},
		{"nested arrays are refused", "{{1},{2}}", nil, true},
		{"a missing brace is an error", "{a,b", nil, true},
		{"an empty bare element is an error", "{a,,b}", nil, true},
		{"an unterminated quote is an error", `{"a}`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := textArray(c.in, value.Text)
			if (err != nil) != c.err {
				t.Fatalf("textArray(%q) error = %v, want error %v", c.in, err, c.err)
			}
			var s []string
			for _, g := range got {
				if g == nil {
					s = append(s, "<nil>")
				} else {
					s = append(s, string(g))
				}
			}
			if !c.err && !reflect.DeepEqual(s, c.want) {
				t.Fatalf("textArray(%q) = %q, want %q", c.in, s, c.want)
			}
		})
	}
}

func TestBinaryArrayRoundTrip(t *testing.T) {
	elems := [][]byte{[]byte("x"), nil, {}}
	enc := encodeByteaArray(elems)
	got, err := binaryArray(enc, oidBytea)
	if err != nil || len(got) != 3 || got[1] != nil || string(got[0]) != "x" || got[2] == nil {
		t.Fatalf("binaryArray(encodeByteaArray()) = %q, %v, want %q", got, err, elems)
	}
	if _, err := binaryArray(enc, 25); err == nil {
		t.Fatalf("binaryArray() with another element type = nil error, want 42804")
	}
	if got, err := binaryArray(encodeByteaArray(nil), oidBytea); err != nil || len(got) != 0 {
		t.Fatalf("binaryArray(empty) = %q, %v", got, err)
	}
}

func TestStartupSettings(t *testing.T) {
	got := startupSettings(map[string]string{"user": "u", "database": "d", "application_name": "app",
		"options": `-c app.tenant=acme --pgseal-keyset=k -cextra_float_digits=3 -c app.x=a\ b`})
	want := map[string]string{"application_name": "app", "app.tenant": "acme", "pgseal_keyset": "k",
		"extra_float_digits": "3", "app.x": "a b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("startupSettings() = %v, want %v", got, want)
	}
	// PostgreSQL applies options first and direct parameters last: the direct one wins.
	got = startupSettings(map[string]string{"app.tenant": "globex", "options": "-c app.tenant=acme"})
	if got["app.tenant"] != "globex" {
		t.Fatalf("startupSettings(direct globex, options acme)[app.tenant] = %q, want globex", got["app.tenant"])
	}
}

func TestLastName(t *testing.T) {
	for in, want := range map[string]string{
		"SAVEPOINT s1": "s1", "ROLLBACK TO SAVEPOINT S1;": "s1", `RELEASE "Mixed ""q"""`: `Mixed "q"`,
		"DEALLOCATE PREPARE stmt": "stmt", "": "",
	} {
		if got := lastName(in); got != want {
			t.Errorf("lastName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlanCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newPlanCache(2)
	p := &rewrite.Plan{}
	c.put(planKey{version: 1, sql: "a"}, p, nil)
	c.put(planKey{version: 1, sql: "b"}, p, nil)
	c.get(planKey{version: 1, sql: "a"})
	c.put(planKey{version: 1, sql: "c"}, p, nil)
	if _, _, ok := c.get(planKey{version: 1, sql: "b"}); ok || c.len() != 2 {
		t.Fatalf("after 3 puts in a 2-entry cache: b cached = %v, len = %d, want false, 2", ok, c.len())
	}
	if _, _, ok := c.get(planKey{version: 2, sql: "a"}); ok {
		t.Fatalf("get() under another catalog version = hit, want miss")
	}
}

func FuzzSealDecoders(f *testing.F) {
	for _, s := range []string{"{}", `{"a",NULL,b}`, `\x00ff`, `a\\\001`, string(encodeByteaArray([][]byte{[]byte("x"), nil}))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = textArray(string(b), value.Text)
		if got, err := binaryArray(b, oidBytea); err == nil {
			if again, err := binaryArray(encodeByteaArray(got), oidBytea); err != nil || len(again) != len(got) {
				t.Fatalf("binaryArray round trip = %d elements, %v, want %d", len(again), err, len(got))
			}
		}
		_, _ = column.DecodeByteaText(nil, b)
		// appendValues splits DataRow bodies for the batch path: it must agree with pgproto3.
		var dr pgproto3.DataRow
		vals, ok := appendValues(nil, b)
		if derr := dr.Decode(b); ok != (derr == nil) || (ok && !reflect.DeepEqual(vals, dr.Values) && len(vals)+len(dr.Values) > 0) {
			t.Fatalf("appendValues = %q, %v; DataRow.Decode = %q, %v", vals, ok, dr.Values, derr)
		}
		_ = startupSettings(map[string]string{"options": string(b)})
		_ = lastName(string(b))
		_ = fmt.Sprint(splitOptions(string(b)))
	})
}

// commandComplete looks at ddlTags only for tags that begin with C, A or D.
func TestDDLTagsBeginWithCAD(t *testing.T) {
	for _, tag := range ddlTags {
		if c := tag[0]; c != 'C' && c != 'A' && c != 'D' {
			t.Errorf("ddl tag %q: commandComplete's first-letter check skips it", tag)
		}
	}
}
