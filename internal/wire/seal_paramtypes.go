package wire

import (
	"fmt"
	"strconv"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// paramTypes forces the OIDs of encrypted parameters to bytea (bytea[]) and checks what the client
// declared; sp.clientOIDs gets what ParameterDescription shows the client for each of them, which
// is what PostgreSQL shows for a plaintext column (Describe S: the declared type if non-zero, else
// the type it infers; protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY).
func (ss *sealSession) paramTypes(sp *stmtPlan, declared []uint32) ([]uint32, *ProxyError) {
	n := max(len(declared), len(sp.plan.Params))
	oids := make([]uint32, n)
	copy(oids, declared)
	sp.types = make([]value.Type, n)
	sp.clientOIDs = make([]uint32, n)
	for i, p := range sp.plan.Params {
		if p.Kind == rewrite.ParamPass || p.Column == nil {
			continue
		}
		col, err := migrateColumn(p.Column, sp.ent)
		if err != nil {
			return nil, valueRefusal(err)
		}
		want, force := col.Type.OID(), uint32(oidBytea)
		if p.Kind == rewrite.ParamTermArray {
			want, force = col.Type.ArrayOID(), oidByteaArray
		}
		declared := oids[i]
		if declared != 0 && declared != want && !sameWireType(declared, col.Type, p.Kind == rewrite.ParamTermArray) {
			return nil, &ProxyError{Code: CodeDatatypeMismatch,
				Message: fmt.Sprintf("parameter $%d is declared with type OID %d, but encrypted column %s.%s is %s", i+1, declared, p.Column.Table, p.Column.Name, col.Type)}
		}
		// ParameterDescription shows what PostgreSQL would: the declared type, or the one it
		// infers when the client left it to the server (0): the cast's, when rewrite removed
		// one (always to the column's plaintext type), else by where the parameter stands.
		switch {
		case declared != 0:
		case castParam(sp.plan, i+1):
			declared = want
		default:
			declared = inferredOID(p.Kind, col.Type)
		}
		oids[i], sp.types[i], sp.clientOIDs[i] = force, col.Type, declared
	}
	return oids, nil
}

// sameWireType accepts a declared type whose values are byte-identical on the wire, in text and
// binary, to the column's plaintext type: varchar for text and text for varchar (JDBC declares
// strings as varchar by default); their arrays differ only in the element OID (elementOID).
// Other declared types are refused even where PostgreSQL would convert (int4 for an int8 column):
// their values would have to be encoded as the declared type, not the column's.
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

// inferredOID is the type PostgreSQL infers for an undeclared parameter where the column has its
// plaintext type: the column's type where the value is assigned (INSERT, UPDATE SET), the operand
// type of the comparison operator where it is compared (ParamTerm, ParamTermArray). They differ
// for varchar only: it has no operators of its own, so `col = $1` resolves to text = text and $1
// is text (text[] for `= ANY($1)`).
//
// NOTE: an IN list of two or more items is typed by the items' common type with the column
// (transformAExprIn: select_common_type), varchar there; the plan does not say a ParamTerm came
// from one, so pgseal shows text. Harmless on the wire (the bytes are the same), but not
// PostgreSQL's answer.
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

// elementOID is the element type a binary array parameter declared as arrayOID must name (array_recv
// checks it): the column's type, or the other string type when the client declared that one's array.
func elementOID(t value.Type, arrayOID uint32) uint32 {
	for _, o := range []value.Type{value.Text, value.Varchar} {
		if arrayOID == o.ArrayOID() && sameWireType(arrayOID, t, true) {
			return o.OID()
		}
	}
	return t.OID()
}
