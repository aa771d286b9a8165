package wire

import (
	"strconv"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// describedOID is what ParameterDescription shows the client for encrypted parameter $n (Parse
// sends bytea): what PostgreSQL shows for a plaintext column (Describe S; protocol-flow.html,
// "Extended Query"), which is the type the client declared in Parse when it is not 0, else the
// type PostgreSQL infers: the cast's (cast, the column's type) when rewrite removed a cast around
// $n, else by where $n stands (inferredOID). JDBC fails a batch ("Can't change resolved type")
// when the described type is not the one it declared.
func describedOID(plan *rewrite.Plan, n int, kind rewrite.ParamKind, t value.Type, declared, cast uint32) uint32 {
	switch {
	case declared != 0:
		return declared
	case castParam(plan, n):
		return cast
	}
	if n >= 1 && n <= len(plan.Params) && plan.Params[n-1].InList {
		return t.OID() // the IN list's common type with the column (see rewrite.Param.InList)
	}
	return inferredOID(kind, t)
}

// inferredOID is the type PostgreSQL infers for an undeclared parameter where the column has its
// plaintext type: the column's type where the value is assigned (INSERT, UPDATE SET), the operand
// type of the comparison operator where it is compared (ParamTerm, ParamTermArray). They differ
// for varchar only: it has no operators of its own, so `col = $1` resolves to text = text and $1
// is text (text[] for `= ANY($1)`).
// An IN list of two or more items is typed by the items' common type with the column
// (transformAExprIn: select_common_type), varchar there: describedOID handles it (Param.InList).
func inferredOID(kind rewrite.ParamKind, t value.Type) uint32 {
	compared := kind == rewrite.ParamTerm || kind == rewrite.ParamTermArray
	if t == value.Varchar && compared {
		t = value.Text
	}
	if kind == rewrite.ParamTermArray {
		return t.ArrayOID()
	}
	return t.OID()
}

// castParam reports whether the plan removes a cast around $n: rewrite does that (an EditStatic
// that is just "$n") only for casts to the column's plaintext type, so that PostgreSQL infers
// bytea; PostgreSQL would have typed $n by the cast.
func castParam(plan *rewrite.Plan, n int) bool {
	text := "$" + strconv.Itoa(n)
	for _, e := range plan.Edits {
		if e.Kind == rewrite.EditStatic && e.Text == text {
			return true
		}
	}
	return false
}

// sameStringOID reports whether a and b are text and varchar, in either order: their values are
// the same bytes in text and binary format.
func sameStringOID(a, b uint32) bool {
	t, v := value.Text.OID(), value.Varchar.OID()
	return (a == t && b == v) || (a == v && b == t)
}
