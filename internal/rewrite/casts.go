package rewrite

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// castFamily groups the plaintext types between which the wire converts a cast constant or
// parameter exactly as PostgreSQL would (value.Convertible; TestCastFamiliesMatchValue keeps the
// two in step): text and varchar share their bytes; integers convert by value, range-checked;
// date, timestamp and timestamptz convert in the session TimeZone (the wire's value.Session).
var castFamily = map[string]string{
	"text": "text", "varchar": "text",
	"int2": "int", "int4": "int", "int8": "int",
	"date": "datetime", "timestamp": "datetime", "timestamptz": "datetime",
}

// comparable reports whether a value converted from type from may be compared with c through
// terms. PostgreSQL compares date, timestamp and timestamptz across types by converting the
// lower side up: a date or timestamp value compared with a timestamp or timestamptz column is
// converted (psycopg2 writes a naive datetime as `'…'::timestamp`), as the wire does. The other
// way round the column's side is converted (datecol = x::timestamp is false unless x is
// midnight), so those comparisons are refused.
func comparable(from string, c *Column) bool {
	if from == "" || castFamily[from] != "datetime" {
		return true
	}
	return datetimeRank[from] <= datetimeRank[canonicalType(c.Type)] // 0 for other columns
}

// datetimeRank orders the date/time types as PostgreSQL converts them up for a comparison.
var datetimeRank = map[string]int{"date": 1, "timestamp": 2, "timestamptz": 3}

// conversion accepts `x::got` for a column whose plaintext type is want when the wire can
// reproduce PostgreSQL's conversion (castFamily), recording got in o.from; otherwise it refuses.
// In a comparison, an integer cast wider than the column is compared by PostgreSQL without
// conversion (int4col = x::int8 runs int48eq): the wire makes a value out of the column's range a
// term that matches nothing, so = is false and <> true, as there.
// The cast's argument must be a parameter or a constant of a kind that PostgreSQL turns into got
// the way value.Encode parses its text: a string for text types; a string or a number for
// integer types (`1.5::int8` rounds a numeric: numericCast; `true::int4` is a bool cast).
func (a *analyzer) conversion(o *operand, tc *pg.TypeCast, c *Column, got, want string) error {
	if elem, ok := strings.CutSuffix(got, "[]"); ok && strings.HasSuffix(want, "[]") && castFamily[elem] == "text" {
		// `= ANY($1::varchar[])` for a text column: the elements are the same bytes.
		got, want = elem, strings.TrimSuffix(want, "[]")
	}
	fam := castFamily[got]
	ok := fam != "" && fam == castFamily[want] && o.from == ""
	if ok && o.kind == opLiteral {
		switch fam {
		case "text", "datetime":
			ok = o.constKind == 's'
		case "int":
			ok = o.constKind == 's' || o.constKind == 'i' || o.constKind == 'f'
		}
	}
	if !ok {
		return unsupported(c, "a cast to "+castName(tc.TypeName)+" (its plaintext type is "+c.Type+")", int(tc.Location))
	}
	if o.kind == opLiteral && o.constKind == 'f' && !isDigits(o.literal) {
		a.numericCast(o)
	}
	o.from = got
	return nil
}

// numericCast marks `x::int8` (int4, int2) of an unquoted decimal x, a numeric constant: the wire
// reads x as numeric, then casts it as PostgreSQL does (numeric_int8 rounds half away from zero;
// 22003 beyond the type, or beyond numeric's own format).
func (a *analyzer) numericCast(o *operand) {
	a.plan.valueDep = true // the value's kind depends on the constant's form: no template (shape.go)
	o.numeric = true
}

// maxVarcharLen is PostgreSQL's limit (MaxAttrSize); a longer typmod is its error, not ours.
const maxVarcharLen = 10 * 1024 * 1024

// varcharLen returns the canonical name of tc's type, reading `varchar(n)` (character varying(n))
// for a column of the text family as varchar with o.castLen = n: the wire truncates like
// PostgreSQL's explicit cast. One length per value; a constant must be a string (`5::varchar(1)`
// is an int4 output, refused by conversion). n is a constant of the text, so the plan depends on
// its value (no template).
func (a *analyzer) varcharLen(o *operand, tc *pg.TypeCast, want string) string {
	got := castType(tc.TypeName)
	tn := tc.TypeName
	if got != "varchar(…)" || castFamily[want] != "text" || o.castLen != 0 || len(tn.Typmods) != 1 {
		return got
	}
	k := tn.Typmods[0].GetAConst()
	if k == nil || k.GetIval() == nil || k.GetIval().Ival < 1 || k.GetIval().Ival > maxVarcharLen {
		return got
	}
	if o.kind == opLiteral && o.constKind != 's' {
		return got
	}
	o.castLen = int(k.GetIval().Ival)
	a.plan.valueDep = true
	return "varchar"
}

// castName names a cast target for messages, with its modifiers as "(n)" (never their values'
// text beyond the type name: `varchar(3)` says varchar(n)).
func castName(tn *pg.TypeName) string {
	name := typeName(tn)
	if len(tn.Typmods) > 0 {
		name += "(n)"
	}
	return name + strings.Repeat("[]", len(tn.ArrayBounds))
}

func isDigits(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// nullCast covers `NULL::t` with t the column's type or of its family (a length too): the
// operand's span then includes the cast, which dropNullCast removes. Kept, the typed NULL would
// meet a bytea column (42804, or 42883 in a comparison) where PostgreSQL stores or compares NULL.
func (a *analyzer) nullCast(tc *pg.TypeCast, inner operand, want string) operand {
	k := tc.Arg.GetAConst()
	got := strings.TrimSuffix(castType(tc.TypeName), "(…)")
	if k == nil || !k.Isnull || got != want && (castFamily[got] == "" || castFamily[got] != castFamily[want]) {
		return inner
	}
	start := int(k.Location)
	end, ok := a.tokens().constEnd(start)
	if !ok {
		return inner
	}
	s, e, ok := a.castSpan(tc, operand{start: start, end: end})
	if !ok {
		return inner
	}
	return operand{kind: opNull, start: s, end: e, cast: true}
}

// dropNullCast replaces a NULL cast recognised by nullCast with a bare NULL.
func (a *analyzer) dropNullCast(o operand) {
	if o.kind == opNull && o.cast {
		a.addEdit(Edit{Start: o.start, End: o.end, Kind: EditStatic, Text: "NULL"})
	}
}

// float4AsFloat8 handles an unquoted number compared with a float4 column. PostgreSQL compares
// float4 with a numeric or integer constant in float8 (float48eq, float48lt, …: `realcol = 0.1`
// is false for a stored 0.1), the column's value widened. Widening is exact and keeps order, so
// a number float4 holds exactly compares as its float4 value, which is what the terms compare;
// any other goes to the wire as float8 (float8in reads it as numeric_float8 does), which compares
// it in float8 (seal's float8OnFloat4: = no value, and an order bound between its float4
// neighbours). A quoted constant is read as float4, one cast to real is converted to it, and the
// items of an IN list of two or more values are converted to float4 (= ANY over real[]): those
// compare in float4, no check. A number beyond float8 is left to the conversion's 22003.
func (a *analyzer) float4AsFloat8(o *operand, c *Column) {
	if k := unquoted(*o); canonicalType(c.Type) != "float4" || k != 'i' && k != 'f' || a.inListArray {
		return
	}
	a.plan.valueDep = true // the verdict depends on the constant's value: no template (shape.go)
	f, err := strconv.ParseFloat(o.literal, 64)
	if err != nil || math.IsInf(f, 0) || float64(float32(f)) == f {
		return
	}
	o.from = "float8"
}

// numericOnInt handles an unquoted decimal (1.5, 2.0, 1e3), or digits beyond bigint: a numeric
// constant, compared with an integer column. PostgreSQL compares them as numeric (the column's
// value converted, exactly): a whole number within bigint compares as that integer, given here as
// an int8 constant (so that one beyond the column's range matches nothing, as for `int4col =
// 3000000000`); any other goes to the wire as numeric, which places it among the integers
// (seal's numericOnInt: 1.5 equals no integer and lies between 1 and 2).
func (a *analyzer) numericOnInt(o *operand, c *Column) {
	if !isIntegerType(c) || unquoted(*o) != 'f' {
		return
	}
	// Digits beyond int4 are an int8 constant within bigint and numeric beyond: one shape class
	// (litBigInt), two plans, so no template (shape.go); nor when the literal changes.
	a.plan.valueDep = true
	if _, err := strconv.ParseInt(o.literal, 10, 64); err == nil {
		return // digits: an int8 constant, as integerConstType says
	}
	if n, ok := wholeInt8(o.literal); ok {
		o.literal, o.from = n, "int8"
		return
	}
	o.from = "numeric"
}

// wholeInt8 returns the decimal constant lit as an int8 constant when it is a whole number within
// bigint. Only a number of magnitude 1 to 10^19 (or zero) is worked out exactly: a tiny literal
// such as 1e-1000000 would take big.Rat a million-digit power of ten (the wire reads it as
// numeric, and fails as numeric_in does).
func wholeInt8(lit string) (string, bool) {
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case err != nil || math.Abs(f) >= 1e19 || f != 0 && math.Abs(f) < 1:
		return "", false
	case f == 0: // zero, or a non-zero number too small for float64
		if mant, _, _ := strings.Cut(strings.ToLower(lit), "e"); strings.Trim(mant, "+-0.") != "" {
			return "", false
		}
		return "0", true
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return "", false
	}
	return r.Num().String(), true
}

// numericAssigned marks as numeric an unquoted number that pg_query gives as a Float (a decimal,
// or digits beyond int4) where assigning it converts it: into an integer column a decimal is
// rounded half away from zero (numeric_int4), into a text column the number becomes
// numeric_out's text (1e3 stores "1000", 007.50 "7.50"; for digits the int8 output is the same).
// The wire converts the same way. Float columns: classify; numeric columns parse the text as
// numeric_in does.
func numericAssigned(o *operand, c *Column) {
	if unquoted(*o) != 'f' {
		return
	}
	switch {
	case isIntegerType(c) && !isDigits(o.literal), isTextFamily(canonicalType(c.Type)):
		o.from = "numeric"
	}
}

// unquoted is the kind of an unquoted constant as written ('i' integer, 'f' other number, 'b'
// boolean), or 0 for anything else (a string, a cast, a parameter): the constants whose type
// PostgreSQL takes from their form, which the checks above follow.
func unquoted(o operand) byte {
	if o.kind != opLiteral || o.cast || o.constKind == 's' {
		return 0
	}
	return o.constKind
}

func isIntegerType(c *Column) bool {
	t := canonicalType(c.Type)
	return t == "int2" || t == "int4" || t == "int8"
}

// pgTypeNames are PostgreSQL's names for types in its error messages (format_type).
var pgTypeNames = map[string]string{"int2": "smallint", "int4": "integer", "int8": "bigint",
	"float4": "real", "float8": "double precision", "bool": "boolean",
	"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
	"varchar": "character varying"}

func pgTypeName(t string) string {
	if n, ok := pgTypeNames[t]; ok {
		return n
	}
	return t
}

// constAssignable is PostgreSQL's check that an unquoted constant can be assigned to c at all:
// an integer or numeric constant goes into number and text columns, a boolean into boolean and
// text ones (assignment casts); into any other column it is 42804. The wire would not refuse it
// (it would read 20200101 as a date), so the check is made here.
func constAssignable(o operand, c *Column) *Error {
	if unquoted(o) == 0 {
		return nil
	}
	t := canonicalType(c.Type)
	ok := t == "bool" || isTextFamily(t)
	if o.constKind != 'b' {
		ok = isTextFamily(t) || isNumberType(t)
	}
	if ok {
		return nil
	}
	return &Error{Code: sqlstate.DatatypeMismatch, Offset: o.start,
		Message: fmt.Sprintf("column %q is of type %s but expression is of type %s", c.Name, pgTypeName(t), constTypeName(o)),
		Hint:    "You will need to rewrite or cast the expression."}
}

// constComparable is PostgreSQL's operator lookup for an unquoted constant compared with c by
// op: a number compares with number columns, a boolean with boolean ones, and anything else has
// no operator (42883: text = integer, date = numeric). The wire would compare the constant's
// text read as c's type, so the check is made here. flipped: the constant is the left operand.
func constComparable(o operand, c *Column, op string, flipped bool, loc int) *Error {
	if unquoted(o) == 0 {
		return nil
	}
	t := canonicalType(c.Type)
	if o.constKind == 'b' && t == "bool" || o.constKind != 'b' && isNumberType(t) {
		return nil
	}
	l, r := pgTypeName(t), constTypeName(o)
	if flipped {
		l, r = r, l
	}
	return &Error{Code: sqlstate.UndefinedFunction, Offset: loc,
		Message: fmt.Sprintf("operator does not exist: %s %s %s", l, op, r),
		Hint:    "No operator matches the given name and argument types. You might need to add explicit type casts."}
}

// constTypeName is the type PostgreSQL gives an unquoted constant: integer, bigint or numeric
// for a number (by its size and form), boolean for true and false.
func constTypeName(o operand) string {
	switch {
	case o.constKind == 'b':
		return "boolean"
	case o.constKind == 'i':
		return "integer"
	}
	if _, err := strconv.ParseInt(o.literal, 10, 64); err == nil {
		return "bigint"
	}
	return "numeric"
}

func isNumberType(t string) bool {
	switch t {
	case "int2", "int4", "int8", "numeric", "float4", "float8":
		return true
	}
	return false
}
