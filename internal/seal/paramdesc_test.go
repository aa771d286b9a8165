package seal

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// OIDs a client may declare in Parse, for the cases below.
const (
	oidText, oidVarchar, oidInt2, oidInt4, oidInt8, oidNumeric  = 25, 1043, 21, 23, 20, 1700
	oidTextArr, oidVarcharArr, oidInt4Arr, oidInt8Arr, oidInt2A = 1009, 1015, 1007, 1016, 1005
)

// paramDescColumns are the encrypted columns of TestSealParameterDescriptionMatchesPostgreSQL:
// each with the declared OIDs pgseal accepts for it (besides 0), for a scalar and for an array.
var paramDescColumns = []struct {
	typ                string
	accepted, arrayOKs []uint32
}{
	{"text", []uint32{oidText, oidVarchar}, []uint32{oidTextArr, oidVarcharArr}},
	{"varchar", []uint32{oidVarchar, oidText}, []uint32{oidVarcharArr, oidTextArr}},
	{"int4", []uint32{oidInt4}, []uint32{oidInt4Arr}},
	{"int8", []uint32{oidInt8}, []uint32{oidInt8Arr}},
}

// TestSealParameterDescriptionMatchesPostgreSQL prepares the same statements with the same
// declared parameter types through pgseal on encrypted columns and directly on plaintext columns
// of the configured types: whatever pgseal accepts, its ParameterDescription must equal
// PostgreSQL's (JDBC fails a batch when the described type differs from the one it declared);
// whatever else is declared is refused with 42804.
func TestSealParameterDescriptionMatchesPostgreSQL(t *testing.T) {
	var encCols, plainCols []string
	var cols []config.Encrypt
	for _, c := range paramDescColumns {
		encCols = append(encCols, "c_"+c.typ+" bytea")
		plainCols = append(plainCols, "c_"+c.typ+" "+c.typ)
		cols = append(cols, config.Encrypt{Table: "enc", Column: "c_" + c.typ, Type: c.typ, Search: []string{"eq"}})
	}
	schema := fmt.Sprintf("CREATE TABLE enc (id int, %s); CREATE TABLE pt (id int, %s);",
		strings.Join(encCols, ", "), strings.Join(plainCols, ", "))
	e := newSealEnv(t, "multi", schema, cols)
	proxy := e.connect(t, "", "acme").PgConn()
	direct := e.direct(t).PgConn()
	ctx := ctxT(t)
	scalars := []uint32{0, oidText, oidVarchar, oidInt2, oidInt4, oidInt8, oidNumeric}
	arrays := []uint32{0, oidTextArr, oidVarcharArr, oidInt2A, oidInt4Arr, oidInt8Arr}
	stmts := []struct {
		name, sql string
		array     bool
	}{
		{"INSERT … VALUES ($1)", "INSERT INTO %[1]s (id, %[2]s) VALUES (1, $1)", false},
		{"INSERT … VALUES ($1::type)", "INSERT INTO %[1]s (id, %[2]s) VALUES (1, $1::%[3]s)", false},
		{"INSERT … VALUES ($1), (NULL)", "INSERT INTO %[1]s (id, %[2]s) VALUES (1, $1), (2, NULL)", false},
		{"INSERT … SELECT $1", "INSERT INTO %[1]s (id, %[2]s) SELECT 1, $1", false},
		{"UPDATE … SET col = $1", "UPDATE %[1]s SET %[2]s = $1 WHERE id = 1", false},
		{"WHERE col = $1", "SELECT id FROM %[1]s WHERE %[2]s = $1", false},
		{"WHERE col = $1::type", "SELECT id FROM %[1]s WHERE %[2]s = $1::%[3]s", false},
		{"WHERE $1 = col", "SELECT id FROM %[1]s WHERE $1 = %[2]s", false},
		{"WHERE col IN ($1, NULL)", "SELECT id FROM %[1]s WHERE %[2]s IN ($1, NULL)", false},
		{"WHERE col <> $1", "SELECT id FROM %[1]s WHERE %[2]s <> $1", false},
		{"WHERE col IS NOT DISTINCT FROM $1", "SELECT id FROM %[1]s WHERE %[2]s IS NOT DISTINCT FROM $1", false},
		{"WHERE col = ANY($1)", "SELECT id FROM %[1]s WHERE %[2]s = ANY($1)", true},
		{"WHERE col = ANY($1::type[])", "SELECT id FROM %[1]s WHERE %[2]s = ANY($1::%[3]s[])", true},
	}
	for _, c := range paramDescColumns {
		for _, st := range stmts {
			declared, accepted := scalars, c.accepted
			if st.array {
				declared, accepted = arrays, c.arrayOKs
			}
			for _, oid := range declared {
				t.Run(fmt.Sprintf("%s column, %s, declared %d", c.typ, st.name, oid), func(t *testing.T) {
					col := "c_" + c.typ
					want, werr := direct.Prepare(ctx, "", fmt.Sprintf(st.sql, "pt", col, c.typ), []uint32{oid})
					got, gerr := proxy.Prepare(ctx, "", fmt.Sprintf(st.sql, "enc", col, c.typ), []uint32{oid})
					if oid != 0 && !slices.Contains(accepted, oid) && gerr != nil {
						// Outside the same-bytes pairs pgseal converts a declared type only where
						// it reproduces PostgreSQL's conversion (cast.go); else 42804. What it
						// accepts must be described as PostgreSQL describes it (below).
						if code := stateOf(gerr); code != sqlstate.DatatypeMismatch {
							t.Fatalf("Prepare() through pgseal = %v, want 42804 or PostgreSQL's description", gerr)
						}
						return
					}
					if werr != nil || gerr != nil {
						t.Fatalf("Prepare() directly = %v, through pgseal = %v, want both nil", werr, gerr)
					}
					if !slices.Equal(got.ParamOIDs, want.ParamOIDs) {
						t.Fatalf("ParameterDescription through pgseal = %v, want PostgreSQL's %v", got.ParamOIDs, want.ParamOIDs)
					}
				})
			}
		}
	}
	t.Run("a binary varchar[] bound for a text column's = ANY($1) finds the row", func(t *testing.T) {
		m := pgtype.NewMap()
		for _, conn := range []struct {
			pc    *pgconn.PgConn
			table string
		}{{proxy, "enc"}, {direct, "pt"}} {
			ins := fmt.Sprintf("INSERT INTO %s (id, c_text) VALUES (7, $1)", conn.table)
			if err := conn.pc.ExecParams(ctx, ins, [][]byte{[]byte("seven")}, []uint32{oidVarchar}, nil, nil).Read().Err; err != nil {
				t.Fatalf("INSERT into %s = %v", conn.table, err)
			}
			arr, err := m.Encode(oidVarcharArr, pgtype.BinaryFormatCode, []string{"six", "seven"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sel := fmt.Sprintf("SELECT id FROM %s WHERE c_text = ANY($1)", conn.table)
			res := conn.pc.ExecParams(ctx, sel, [][]byte{arr}, []uint32{oidVarcharArr}, []int16{1}, nil).Read()
			if res.Err != nil || len(res.Rows) != 1 || string(res.Rows[0][0]) != "7" {
				t.Fatalf("SELECT … = ANY(binary varchar[]) on %s = %q, %v, want one row with id 7", conn.table, res.Rows, res.Err)
			}
		}
	})
}

func TestInferredOID(t *testing.T) {
	cases := []struct {
		name string
		kind rewrite.ParamKind
		typ  value.Type
		want uint32
	}{
		{"a value assigned to a varchar column is varchar", rewrite.ParamEncrypt, value.Varchar, oidVarchar},
		{"a value compared with a varchar column is text (texteq)", rewrite.ParamTerm, value.Varchar, oidText},
		{"an array compared with a varchar column is text[]", rewrite.ParamTermArray, value.Varchar, oidTextArr},
		{"a value compared with a text column is text", rewrite.ParamTerm, value.Text, oidText},
		{"a value compared with an int8 column is int8", rewrite.ParamTerm, value.Int8, oidInt8},
		{"an array compared with an int4 column is int4[]", rewrite.ParamTermArray, value.Int4, oidInt4Arr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := inferredOID(c.kind, c.typ); got != c.want {
				t.Fatalf("inferredOID(%v, %s) = %d, want %d", c.kind, c.typ, got, c.want)
			}
		})
	}
}

func TestDescribedOID(t *testing.T) {
	cast := &rewrite.Plan{Edits: []rewrite.Edit{{Kind: rewrite.EditStatic, Text: "$1"}}}
	bare := &rewrite.Plan{}
	cases := []struct {
		name     string
		plan     *rewrite.Plan
		declared uint32
		want     uint32
	}{
		{"a declared type is shown as declared", bare, oidVarchar, oidVarchar},
		{"a declared type wins over a cast", cast, oidVarchar, oidVarchar},
		{"an undeclared parameter with a cast has the cast's type", cast, 0, oidVarchar},
		{"an undeclared parameter without a cast has the inferred type", bare, 0, oidText},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := describedOID(c.plan, 1, rewrite.ParamTerm, value.Varchar, c.declared, oidVarchar); got != c.want {
				t.Fatalf("describedOID(declared %d) = %d, want %d", c.declared, got, c.want)
			}
		})
	}
}

func TestBinaryArrayTakesTextAndVarcharElementsForEachOther(t *testing.T) {
	m := pgtype.NewMap()
	for _, c := range []struct{ arrayOID, elemOID uint32 }{{oidVarcharArr, oidText}, {oidTextArr, oidVarchar}} {
		b, err := m.Encode(c.arrayOID, pgtype.BinaryFormatCode, []string{"a", "b"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := binaryArray(b, c.elemOID); err != nil || len(got) != 2 || string(got[1]) != "b" {
			t.Fatalf("binaryArray(array %d, element %d) = %q, %v, want [a b]", c.arrayOID, c.elemOID, got, err)
		}
	}
	b, err := m.Encode(oidInt4Arr, pgtype.BinaryFormatCode, []int32{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := binaryArray(b, oidInt8); err == nil {
		t.Fatalf("binaryArray(int4[], element int8) = nil error, want 42804")
	}
}
