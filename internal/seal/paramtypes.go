package seal

import (
	"fmt"
	"strconv"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
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
	compared := kind == rewrite.ParamTerm || kind == rewrite.ParamTermArray || kind == rewrite.ParamOrd || kind == rewrite.ParamMatch
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

// paramTypes forces the OIDs of encrypted parameters and checks what the client declared.
func (ss *Session) paramTypes(sp *stmtPlan, declared []uint32) ([]uint32, *sqlstate.Error) {
	n := max(len(declared), len(sp.plan.Params))
	oids := make([]uint32, n)
	copy(oids, declared)
	sp.types = make([]value.Type, n)
	sp.clientOIDs = make([]uint32, n)
	var lists inListTypes
	for i, p := range sp.plan.Params {
		if p.Kind == rewrite.ParamPass || p.Column == nil {
			continue
		}
		col, err := columnOf(p.Column, sp.ent)
		if err != nil {
			return nil, valueRefusal(err)
		}
		ct, err := paramCastType(p, col.Type) // `$1::varchar` has the cast's type, not the column's
		if err != nil {
			return nil, valueRefusal(err)
		}
		want, force := ct.OID(), uint32(oidBytea)
		switch p.Kind {
		case rewrite.ParamTermArray:
			want, force = ct.ArrayOID(), oidByteaArray
		case rewrite.ParamMatch:
			// The statement reads `$n::text[]`; the client sends a text pattern, which
			// pgseal replaces by the token array's text (matchParam).
			force = value.Text.OID()
		}
		client := ct
		if oids[i] != 0 && oids[i] != want && !sameWireType(oids[i], ct, p.Kind == rewrite.ParamTermArray) {
			dt, ok := declaredType(oids[i], ct, p.Kind)
			if !ok {
				return nil, &sqlstate.Error{Code: sqlstate.DatatypeMismatch,
					Message: fmt.Sprintf("parameter $%d is declared with type OID %d, but encrypted column %s.%s is %s", i+1, oids[i], p.Column.Table, p.Column.Name, ct)}
			}
			client, want = dt, oids[i]
		}
		if p.InList {
			// `$1::int4` is of its cast's type in the list, whatever the client declared.
			bare := p.Cast == ""
			lists.param(p.Column, inListParam{undeclared: oids[i] == 0, widened: bare && widens(ct, client),
				float8:   bare && ct == value.Float4 && client == value.Float8,
				onFloat4: bare && ct == value.Float4 && (client == value.Numeric || isInteger(client))})
		}
		oids[i], sp.types[i], sp.clientOIDs[i] = force, client, describedOID(sp.plan, i+1, p.Kind, col.Type, oids[i], want)
	}
	if pe := lists.refuse(sp.plan); pe != nil {
		return nil, pe
	}
	return oids, nil
}

// inListTypes collects, per column, the kinds of parameters in `col IN (…)` lists of two or
// more. PostgreSQL meets the items with the column in their common type (transformAExprIn): a
// parameter declared wider than the column (int8 for int4, numeric) makes it that type, and it
// then infers that type for the list's undeclared parameters; on a float4 column a float8 item
// makes every item compare in float8, literals included, and integers and numerics compare in
// float4 or in float8 depending on the other items. pgseal reads undeclared parameters and
// literals as the column's type (and describes them so), and an integer or numeric on float4 as
// float4, so it refuses those mixes, and integers and numerics in a list on float4, rather than
// answer otherwise. It does not tell two lists on one column apart, so it may refuse a
// statement with two differently typed lists on one column.
type inListTypes []inListColumn

type inListColumn struct {
	col *rewrite.Column
	inListParam
}

// inListParam is what one parameter of a list is (or, summed, what some parameters are).
type inListParam struct {
	undeclared, widened, float8, onFloat4 bool
}

func (l *inListTypes) param(c *rewrite.Column, p inListParam) {
	for i := range *l {
		if x := &(*l)[i]; x.col.ID == c.ID {
			x.undeclared, x.widened = x.undeclared || p.undeclared, x.widened || p.widened
			x.float8, x.onFloat4 = x.float8 || p.float8, x.onFloat4 || p.onFloat4
			return
		}
	}
	*l = append(*l, inListColumn{col: c, inListParam: p})
}

// widens reports whether an item of type dt makes the common type of an IN list on a column of
// type ct other than ct (select_common_type: a wider integer or numeric for an integer column,
// float8 for float4; timestamptz is preferred over timestamp and date, text over varchar).
func widens(ct, dt value.Type) bool {
	switch ct {
	case value.Int2, value.Int4, value.Int8:
		return dt == value.Numeric || isInteger(dt) && dt.Size() > ct.Size()
	case value.Float4:
		return dt == value.Float8
	}
	return false
}

func (l inListTypes) refuse(plan *rewrite.Plan) *sqlstate.Error {
	for _, x := range l {
		literal := false
		for _, e := range plan.Edits {
			literal = literal || e.InList && e.Column != nil && e.Column.ID == x.col.ID
		}
		if x.onFloat4 {
			return &sqlstate.Error{Code: sqlstate.DatatypeMismatch, Message: fmt.Sprintf(
				"an IN list on encrypted float4 column %s.%s has a parameter declared as an integer or numeric; declare it float4 or float8", x.col.Table, x.col.Name)}
		}
		if x.widened && x.undeclared || x.float8 && literal {
			return &sqlstate.Error{Code: sqlstate.DatatypeMismatch, Message: fmt.Sprintf(
				"an IN list on encrypted column %s.%s mixes a parameter declared with another type than the column's with undeclared parameters or literals; declare them alike", x.col.Table, x.col.Name)}
		}
	}
	return nil
}

// sameWireType accepts a declared type whose values are byte-identical on the wire, in text and
// binary, to the column's plaintext type: varchar for text and text for varchar (JDBC declares
// strings as varchar by default). Other declared types are refused even where PostgreSQL would
// convert (int4 for an int8 column): their values would have to be encoded as the declared type.
func sameWireType(oid uint32, t value.Type, array bool) bool {
	var other value.Type
	switch t {
	case value.Text:
		other = value.Varchar
	case value.Varchar:
		other = value.Text
	default:
		return false
	}
	if array {
		return oid == other.ArrayOID()
	}
	return oid == other.OID()
}
