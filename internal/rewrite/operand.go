package rewrite

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

type opKind uint8

const (
	opOther   opKind = iota // any other expression
	opNull                  // NULL (possibly cast)
	opDefault               // DEFAULT
	opParam                 // $n (possibly cast to the plaintext type)
	opLiteral               // a constant (possibly cast to the plaintext type)
	opColumn                // a reference to an encrypted column
)

// operand is a value placed into or compared with an encrypted column.
type operand struct {
	kind       opKind
	start, end int // byte span including any cast
	param      int
	cast       bool // the span includes a cast that must go away (parameters)
	literal    string
	constKind  byte   // 's' string, 'i' integer, 'f' other number, 'b' boolean (literals)
	from       string // a cast converts the value from this type to the column's (casts.go)
	castLen    int    // an explicit varchar(n) cast truncates the value to n characters
	numeric    bool   // the literal is a numeric constant that from's cast converts (numericCast)
	col        *Column
}

// classify recognises the values we can encrypt or turn into terms for column c. A cast is
// accepted only to c's plaintext type; the span then covers the cast.
func (a *analyzer) classify(n *pg.Node, sc *scope, c *Column) (operand, error) {
	switch v := n.GetNode().(type) {
	case *pg.Node_SetToDefault:
		return operand{kind: opDefault}, nil
	case *pg.Node_ColumnRef:
		col, ok, err := a.bareEncrypted(n, sc)
		if err != nil || !ok {
			return operand{}, err
		}
		return operand{kind: opColumn, col: col}, nil
	case *pg.Node_ParamRef:
		start := int(v.ParamRef.Location)
		end, ok := a.tokens().constEnd(start)
		if !ok {
			return operand{}, unsupportedf(start, "cannot locate parameter $%d", v.ParamRef.Number)
		}
		return operand{kind: opParam, param: int(v.ParamRef.Number), start: start, end: end}, nil
	case *pg.Node_AConst:
		o, err := a.constant(v.AConst)
		if t := canonicalType(c.Type); err == nil && o.constKind == 'f' && !isDigits(o.literal) && (t == "float4" || t == "float8") {
			// An unquoted 1.5 or -0.0 is a numeric constant, which reaches a float column through
			// numeric_float8 (float8in of numeric_out's text), not float8in of the text as written:
			// -0.0 is 0 there. The wire converts it the same way.
			o.from = "numeric"
		}
		return o, err
	case *pg.Node_TypeCast:
		return a.cast(v.TypeCast, sc, c, canonicalType(c.Type))
	}
	return operand{}, nil
}

// classifyArray recognises `$n` or `$n::type[]` for `= ANY(…)`.
func (a *analyzer) classifyArray(n *pg.Node, c *Column) (operand, error) {
	switch v := n.GetNode().(type) {
	case *pg.Node_ParamRef:
		return a.classify(n, nil, c)
	case *pg.Node_TypeCast:
		if v.TypeCast.Arg.GetParamRef() == nil {
			return operand{}, nil
		}
		return a.cast(v.TypeCast, nil, c, canonicalType(c.Type)+"[]")
	}
	return operand{}, nil
}

// arrayLiteral recognises a string constant used as an array, `'{a,b}'` or `'{a,b}'::type[]` with
// type c's plaintext type (what pgx's simple protocol writes for `= ANY($1)`); ok is false for
// anything else.
func (a *analyzer) arrayLiteral(n *pg.Node, c *Column) (operand, bool, error) {
	var o operand
	var err error
	switch v := n.GetNode().(type) {
	case *pg.Node_AConst:
		if v.AConst.GetSval() == nil && !v.AConst.Isnull {
			return operand{}, false, nil
		}
		o, err = a.constant(v.AConst)
	case *pg.Node_TypeCast:
		k := v.TypeCast.Arg.GetAConst()
		if k == nil || (k.GetSval() == nil && !k.Isnull) {
			return operand{}, false, nil
		}
		o, err = a.cast(v.TypeCast, nil, c, canonicalType(c.Type)+"[]")
	default:
		return operand{}, false, nil
	}
	if err != nil {
		return operand{}, false, err
	}
	return o, o.kind == opLiteral || o.kind == opNull, nil
}

func (a *analyzer) constant(k *pg.A_Const) (operand, error) {
	start := int(k.Location)
	if k.Isnull {
		return operand{kind: opNull}, nil
	}
	o := operand{kind: opLiteral, start: start}
	switch {
	case k.GetSval() != nil:
		o.literal, o.constKind = k.GetSval().Sval, 's'
	case k.GetIval() != nil:
		o.literal, o.constKind = strconv.Itoa(int(k.GetIval().Ival)), 'i'
	case k.GetFval() != nil:
		o.literal, o.constKind = k.GetFval().Fval, 'f'
	case k.GetBoolval() != nil:
		o.literal, o.constKind = strconv.FormatBool(k.GetBoolval().Boolval), 'b'
	default:
		return operand{}, nil // bit strings and anything new: not a value we encrypt
	}
	end, ok := a.tokens().constEnd(start)
	if !ok {
		return operand{}, unsupportedf(start, "cannot locate a constant to rewrite")
	}
	o.end = end
	return o, nil
}

// cast handles `x::t`, `CAST(x AS t)` and `t 'x'` where x is a constant or parameter and t is
// want (the column's plaintext type) or a type the wire converts to it exactly (casts.go).
func (a *analyzer) cast(tc *pg.TypeCast, sc *scope, c *Column, want string) (operand, error) {
	inner, err := a.classify(tc.Arg, sc, c)
	if err != nil {
		return operand{}, err
	}
	switch inner.kind {
	case opNull:
		return a.nullCast(tc, inner, want), nil
	case opParam, opLiteral:
	default:
		return operand{}, nil
	}
	got := a.varcharLen(&inner, tc, want)
	switch {
	case got != want:
		if err := a.conversion(&inner, tc, c, got, want); err != nil {
			return operand{}, err
		}
	case castFamily[got] == "int" && inner.kind == opLiteral && inner.constKind == 'f' && !isDigits(inner.literal):
		a.numericCast(&inner) // `1.5::int4` rounds
		inner.from = got      // an explicit cast: its range error even in a comparison
	case inner.kind == opParam && (castFamily[got] == "int" || castFamily[got] == "datetime" || got == "float4"):
		// `$1::int4` on an int4 column: a parameter the client declares otherwise (numeric,
		// int8) is cast explicitly, rounding and raising its range error, where a bare `$1`
		// would meet the column in a cross-type comparison (numeric = int4 compares as numeric,
		// timestamp = date does not fail beyond timestamp's range).
		inner.from = got
	}
	start, end, ok := a.castSpan(tc, inner)
	if !ok {
		return operand{}, nil
	}
	inner.start, inner.end, inner.cast = start, end, true
	return inner, nil
}

// castSpan finds the text of the whole cast expression.
func (a *analyzer) castSpan(tc *pg.TypeCast, inner operand) (int, int, bool) {
	t := a.tokens()
	tloc := int(tc.TypeName.Location)
	if tc.Location < 0 || tloc < inner.start {
		// `text 'x'`: the type name comes first, the constant ends it.
		return tloc, inner.end, tloc >= 0
	}
	i := t.at(int(tc.Location))
	if i < 0 {
		return 0, 0, false
	}
	if t.lower(i) == "cast" {
		j := t.closeParen(i + 1)
		if j < 0 {
			return 0, 0, false
		}
		return int(tc.Location), t.end(j), true
	}
	// `x::t`: the `::` must follow the value directly (no parentheses in between).
	if int(tc.Location) != nextTokenStart(t, inner.end) {
		return 0, 0, false
	}
	end, ok := t.typeEnd(tloc)
	return inner.start, end, ok
}

func nextTokenStart(t *tokens, off int) int {
	for _, tok := range t.toks {
		if int(tok.Start) >= off {
			return int(tok.Start)
		}
	}
	return -1
}

// castType is the canonical name of a cast target; modifiers make it differ from any plain type.
func castType(tn *pg.TypeName) string {
	name := canonicalType(typeName(tn))
	if len(tn.Typmods) > 0 {
		name += "(…)"
	}
	if len(tn.ArrayBounds) > 0 {
		name += strings.Repeat("[]", len(tn.ArrayBounds))
	}
	if tn.Setof || tn.PctType {
		name += "?"
	}
	return name
}

// paramAs records what a parameter becomes; a cast around it is removed so that PostgreSQL
// infers bytea (or bytea[]) for it.
func (a *analyzer) paramAs(o operand, p Param) error {
	p.Cast, p.CastLen = o.from, o.castLen
	if err := a.useParam(o.param, p, o.start); err != nil {
		return err
	}
	if o.cast {
		a.addEdit(Edit{Start: o.start, End: o.end, Kind: EditStatic, Text: "$" + itoa(o.param)})
	}
	return nil
}

// assign handles a value stored into encrypted column c (INSERT, UPDATE SET, ON CONFLICT DO
// UPDATE SET): constants and parameters are encrypted, NULL and DEFAULT stay, the same column's
// ciphertext may be copied; anything else is refused.
func (a *analyzer) assign(c *Column, n *pg.Node, sc *scope, construct string, pos int) error {
	a.stmt.Touches = true
	o, err := a.classify(n, sc, c)
	if err != nil {
		return err
	}
	switch o.kind {
	case opNull, opDefault:
		a.dropNullCast(o)
		return nil
	case opParam:
		return a.paramAs(o, Param{Kind: ParamEncrypt, Column: c})
	case opLiteral:
		if err := constAssignable(o, c); err != nil {
			return err
		}
		numericAssigned(&o, c)
		a.addEdit(Edit{Start: o.start, End: o.end, Kind: EditEncrypt, Literal: o.literal, Cast: o.from, CastLen: o.castLen, Numeric: o.numeric, Column: c})
		return nil
	case opColumn:
		if sameColumn(c, o.col) {
			return nil
		}
		return unsupported(c, "assigning it from "+o.col.display(), pos)
	}
	return unsupported(c, construct, nodeLoc(n, pos))
}
