package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// targetRel resolves the table an INSERT/UPDATE/DELETE writes to and puts it in a new scope.
func (a *analyzer) targetRel(rv *pg.RangeVar, parent *scope, with *pg.WithClause, pos int) (*scope, *rel, *Table, error) {
	sc := newScope(parent)
	if err := a.with(with, sc, pos); err != nil {
		return nil, nil, nil, err
	}
	r, err := a.targetRangeVarRel(sc, rv, pos)
	if err != nil {
		return nil, nil, nil, err
	}
	sc.rels = append(sc.rels, r)
	return sc, r, a.schema.lookup(rv.Schemaname, rv.Relname), nil
}

// encryptedOf returns the encrypted column name of t, or nil.
func encryptedOf(t *Table, name string) *Column {
	if t == nil {
		return nil
	}
	return t.Encrypted[name]
}

// returning analyses RETURNING into the statement's result shape.
func (a *analyzer) returning(list []*pg.Node, sc *scope, pos int) (*result, error) {
	if len(list) == 0 {
		return &result{}, nil
	}
	return a.targets(list, sc, nil, pos)
}

func (a *analyzer) insert(ins *pg.InsertStmt, parent *scope, pos int) (*result, error) {
	a.see(ins)
	sc, r, t, err := a.targetRel(ins.Relation, parent, ins.WithClause, pos)
	if err != nil {
		return nil, err
	}
	assignTo, err := a.insertColumns(ins, t, pos)
	if err != nil {
		return nil, err
	}
	if sel := ins.SelectStmt.GetSelectStmt(); sel != nil {
		// The source query sees the WITH queries but not the target table.
		src := &scope{parent: parent, ctes: sc.ctes}
		if _, err := a.selectStmt(sel, src, assignTo, pos); err != nil {
			return nil, err
		}
	}
	if oc := ins.OnConflictClause; oc != nil {
		if err := a.onConflict(oc, sc, r, t, pos); err != nil {
			return nil, err
		}
	}
	return a.returning(ins.ReturningList, sc, pos)
}

// insertColumns maps each inserted position to its encrypted column (nil = plaintext).
func (a *analyzer) insertColumns(ins *pg.InsertStmt, t *Table, pos int) ([]*Column, error) {
	if t == nil || len(t.Encrypted) == 0 {
		return nil, nil
	}
	var names []string
	for _, n := range ins.Cols {
		rt := n.GetResTarget()
		if c := encryptedOf(t, rt.Name); c != nil && len(rt.Indirection) > 0 {
			return nil, unsupported(c, "assigning to a subscript or field", int(rt.Location))
		}
		names = append(names, rt.Name)
	}
	if len(ins.Cols) == 0 {
		if t.Columns == nil {
			for _, c := range t.Encrypted {
				return nil, unsupported(c, "INSERT without a column list (pgseal does not know the table's columns)", pos)
			}
		}
		names = t.Columns
	}
	out := make([]*Column, len(names))
	for i, name := range names {
		out[i] = encryptedOf(t, name)
		if out[i] != nil {
			a.stmt.Touches = true
		}
	}
	return out, nil
}

// onConflict rewrites the conflict target to the term expression (what a UNIQUE expression
// index holds) and analyses DO UPDATE SET with the target table and EXCLUDED in scope.
func (a *analyzer) onConflict(oc *pg.OnConflictClause, sc *scope, r *rel, t *Table, pos int) error {
	if inf := oc.Infer; inf != nil {
		for _, n := range inf.IndexElems {
			if err := a.conflictElem(n.GetIndexElem(), inf, sc, t, pos); err != nil {
				return err
			}
		}
		if err := a.predicate(inf.WhereClause, sc, "ON CONFLICT … WHERE", pos); err != nil {
			return err
		}
	}
	if oc.Action != pg.OnConflictAction_ONCONFLICT_UPDATE {
		return nil
	}
	excl := *r
	excl.alias, excl.schema = "excluded", ""
	sc.rels = append(sc.rels, &excl)
	if err := a.setList(oc.TargetList, sc, t, "ON CONFLICT DO UPDATE SET", pos); err != nil {
		return err
	}
	return a.predicate(oc.WhereClause, sc, "ON CONFLICT DO UPDATE … WHERE", pos)
}

func (a *analyzer) conflictElem(e *pg.IndexElem, inf *pg.InferClause, sc *scope, t *Table, pos int) error {
	if e == nil {
		return unsupportedf(pos, "an ON CONFLICT target pgseal does not understand")
	}
	if e.Expr != nil {
		return a.expr(e.Expr, sc, "an ON CONFLICT expression", pos)
	}
	c := encryptedOf(t, e.Name)
	if c == nil {
		return nil
	}
	if !c.Eq {
		return unsupported(c, "ON CONFLICT (no equality search is configured)", pos)
	}
	a.stmt.Touches = true
	start, end, ok := a.findConflictName(int(inf.Location), e.Name)
	if !ok {
		return unsupported(c, "an ON CONFLICT target written this way", pos)
	}
	a.addEdit(Edit{Start: start, End: end, Kind: EditStatic, Text: "(" + TermExpr(a.sql[start:end]) + ")"})
	a.stmt.Terms = true
	return nil
}

// findConflictName locates the bare column name in `ON CONFLICT ( … )` (index elements carry no
// location): an identifier at depth 1 directly after '(' or ','.
func (a *analyzer) findConflictName(loc int, name string) (int, int, bool) {
	t := a.tokens()
	i := t.at(loc)
	if i < 0 || t.text(i) != "(" {
		return 0, 0, false
	}
	depth := 0
	for j := i; j < len(t.toks); j++ {
		switch t.text(j) {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return 0, 0, false
			}
		}
		if depth == 1 && j > i && (t.text(j-1) == "(" || t.text(j-1) == ",") {
			if id, ok := t.ident(j); ok && id == name {
				return int(t.toks[j].Start), t.end(j), true
			}
		}
	}
	return 0, 0, false
}

// setList analyses `SET col = value, …` of UPDATE and ON CONFLICT DO UPDATE.
func (a *analyzer) setList(list []*pg.Node, sc *scope, t *Table, construct string, pos int) error {
	var first *pg.Node // source of the current `(a, b) = source` group
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			return unsupportedf(pos, "%s in %s is not supported", nodeName(n), construct)
		}
		c := encryptedOf(t, rt.Name)
		if c != nil && (len(rt.Indirection) > 0 || rt.Val.GetMultiAssignRef() != nil) {
			return unsupported(c, "a subscript, field or multiple-column assignment in "+construct, int(rt.Location))
		}
		if mar := rt.Val.GetMultiAssignRef(); mar != nil {
			if err := a.multiAssign(mar, &first, sc, construct, pos); err != nil {
				return err
			}
			continue
		}
		if c != nil {
			if err := a.assign(c, rt.Val, sc, "an expression in "+construct, int(rt.Location)); err != nil {
				return err
			}
			continue
		}
		if err := a.expr(rt.Val, sc, construct, pos); err != nil {
			return err
		}
	}
	return nil
}

// multiAssign analyses the source of `SET (a, b) = source` once, at its first column. The parse
// tree shares one source among the group's columns; pg_query hands out a copy per column, so
// the copies' column references are only marked as examined, after checking that the copy is
// the same text.
func (a *analyzer) multiAssign(mar *pg.MultiAssignRef, first **pg.Node, sc *scope, construct string, pos int) error {
	if mar.Colno == 1 {
		*first = mar.Source
		return a.expr(mar.Source, sc, construct, pos)
	}
	if *first == nil || nodeLoc(*first, -1) != nodeLoc(mar.Source, -2) {
		return unsupportedf(pos, "a multiple-column assignment pgseal does not understand in %s", construct)
	}
	walkAll(mar.Source.ProtoReflect(), func(m protoreflect.Message) bool {
		if cr, ok := m.Interface().(*pg.ColumnRef); ok {
			a.see(cr)
		}
		return true
	})
	return nil
}

func (a *analyzer) update(u *pg.UpdateStmt, parent *scope, pos int) (*result, error) {
	a.see(u)
	sc, _, t, err := a.targetRel(u.Relation, parent, u.WithClause, pos)
	if err != nil {
		return nil, err
	}
	for _, f := range u.FromClause {
		if err := a.fromItem(f, sc, pos); err != nil {
			return nil, err
		}
	}
	if err := a.setList(u.TargetList, sc, t, "UPDATE SET", pos); err != nil {
		return nil, err
	}
	if err := a.predicate(u.WhereClause, sc, "WHERE", pos); err != nil {
		return nil, err
	}
	return a.returning(u.ReturningList, sc, pos)
}

func (a *analyzer) delete(d *pg.DeleteStmt, parent *scope, pos int) (*result, error) {
	a.see(d)
	sc, _, _, err := a.targetRel(d.Relation, parent, d.WithClause, pos)
	if err != nil {
		return nil, err
	}
	for _, f := range d.UsingClause {
		if err := a.fromItem(f, sc, pos); err != nil {
			return nil, err
		}
	}
	if err := a.predicate(d.WhereClause, sc, "WHERE", pos); err != nil {
		return nil, err
	}
	return a.returning(d.ReturningList, sc, pos)
}
