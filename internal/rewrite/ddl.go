package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DDL persists expressions: an index expression or predicate, a CHECK, a DEFAULT, a policy or a
// view is evaluated later, for every session and keyset. A literal in one compared with an
// encrypted column is plaintext at rest in the catalog, and an equality term in one would belong
// to a single keyset. So DDL on a table with encrypted columns may carry expressions only over
// its plaintext columns; every other utility statement naming such a table is refused by utility
// unless harmlessUtility lists it.

// indexStmt lets CREATE INDEX on a table with encrypted columns through when its key columns are
// plain names or the canonical term expression of an encrypted column (TermExpr, what
// `= literal` and UNIQUE need), and when its other expressions and its WHERE predicate mention
// only plaintext columns.
func (a *analyzer) indexStmt(ix *pg.IndexStmt, pos int) error {
	t := a.schema.lookup(ix.Relation.GetSchemaname(), ix.Relation.GetRelname())
	if t == nil || len(t.Encrypted) == 0 {
		// The mention is elsewhere (it cannot be, today): refuse rather than guess.
		return unsupportedf(pos, "IndexStmt on an encrypted table is not supported through pgseal; run it directly against PostgreSQL")
	}
	for _, n := range append(append([]*pg.Node(nil), ix.IndexParams...), ix.IndexIncludingParams...) {
		e := n.GetIndexElem()
		if e == nil {
			return unsupportedf(pos, "%s in CREATE INDEX on an encrypted table is not supported", nodeName(n))
		}
		if e.Expr == nil {
			continue
		}
		if a.termIndexExpr(e.Expr, t) {
			continue
		}
		if err := a.plainDDLExpr(e.Expr, t, "an index expression", pos); err != nil {
			return err
		}
	}
	if ix.WhereClause != nil {
		return a.plainDDLExpr(ix.WhereClause, t, "a partial index predicate", pos)
	}
	return nil
}

// termIndexExpr reports whether n is TermExpr(col) for an encrypted column col of t:
// substring(col from 24 for 16) or substring(col, 24, 16).
func (a *analyzer) termIndexExpr(n *pg.Node, t *Table) bool {
	f := n.GetFuncCall()
	if f == nil || len(f.Args) != 3 || f.AggFilter != nil || f.Over != nil || len(f.AggOrder) > 0 {
		return false
	}
	name := strs(f.Funcname)
	if !(len(name) == 1 && name[0] == "substring") && !(len(name) == 2 && name[0] == "pg_catalog" && name[1] == "substring") {
		return false
	}
	cr := f.Args[0].GetColumnRef()
	if cr == nil || len(cr.Fields) != 1 {
		return false
	}
	col := encryptedOf(t, strs(cr.Fields)[0])
	from, ok1 := intConst(f.Args[1])
	length, ok2 := intConst(f.Args[2])
	if col == nil || !ok1 || !ok2 || from != TermOffset || length != TermLength {
		return false
	}
	a.see(cr)
	return true
}

// plainDDLExpr refuses an expression of DDL on table t that mentions one of t's encrypted
// columns, a whole row of t, `*`, or a table with encrypted columns. It is a reflective walk, so
// no node type can hide a reference.
func (a *analyzer) plainDDLExpr(n *pg.Node, t *Table, construct string, pos int) error {
	var err error
	walkAll(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch v := m.Interface().(type) {
		case *pg.ColumnRef:
			err = a.plainDDLColumn(v, t, construct)
		case *pg.RangeVar:
			if rt := a.schema.lookup(v.Schemaname, v.Relname); rt != nil && len(rt.Encrypted) > 0 {
				err = unsupportedf(nodeLocOr(int(v.Location), pos), "a reference to %s in %s is not supported", v.Relname, construct)
			}
		}
		return err == nil
	})
	return err
}

func (a *analyzer) plainDDLColumn(cr *pg.ColumnRef, t *Table, construct string) error {
	loc := int(cr.Location)
	if isStar(cr) {
		return unsupportedf(loc, "* in %s on a table with encrypted columns is not supported", construct)
	}
	fields := strs(cr.Fields)
	if c := encryptedOf(t, fields[len(fields)-1]); c != nil {
		return unsupported(c, construct, loc)
	}
	if len(fields) == 1 && fields[0] == t.Name {
		return unsupportedf(loc, "a whole-row reference to %s in %s is not supported", t.Name, construct)
	}
	a.see(cr)
	return nil
}
