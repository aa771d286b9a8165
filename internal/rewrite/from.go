package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// targets analyses a target list (SELECT list or RETURNING) into a result shape. A bare
// reference to an encrypted column is an output to decrypt; anything else that touches one is an
// expression and refused by expr.
func (a *analyzer) targets(list []*pg.Node, sc *scope, assignTo []*Column, pos int) (*result, error) {
	res := &result{}
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			return nil, unsupportedf(pos, "%s in a target list is not supported", nodeName(n))
		}
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			a.see(cr)
			cols, err := a.star(sc, starQualifier(cr), int(cr.Location))
			if err != nil {
				return nil, err
			}
			for _, c := range cols {
				if c.col != nil {
					a.stmt.Touches = true
				}
				if err := checkCopy(assignTo, len(res.cols), c, pos); err != nil {
					return nil, err
				}
				res.cols = append(res.cols, c)
			}
			continue
		}
		oc, err := a.target(rt, sc, assignTo, len(res.cols), pos)
		if err != nil {
			return nil, err
		}
		res.cols = append(res.cols, oc)
	}
	return res, nil
}

// target analyses one non-star target at position i.
func (a *analyzer) target(rt *pg.ResTarget, sc *scope, assignTo []*Column, i, pos int) (outCol, error) {
	oc := outCol{name: rt.Name, refStart: -1, refEnd: -1}
	if oc.name == "" {
		oc.name = derivedName(rt.Val)
	}
	if i < len(assignTo) && assignTo[i] != nil {
		oc.col = assignTo[i]
		return oc, a.assign(assignTo[i], rt.Val, sc, "an expression in INSERT … SELECT", pos)
	}
	if k := rt.Val.GetAConst(); k != nil && k.Isnull {
		oc.isNull = true
		return oc, nil
	}
	if cr := rt.Val.GetColumnRef(); cr != nil {
		a.see(cr)
		c, err := a.resolve(sc, strs(cr.Fields), int(cr.Location))
		if err != nil || c == nil {
			return oc, err
		}
		a.stmt.Touches = true
		oc.col = c
		if end, ok := a.tokens().colRefEnd(int(cr.Location), len(cr.Fields)); ok {
			oc.refStart, oc.refEnd = int(cr.Location), end
		}
		return oc, nil
	}
	if f := rt.Val.GetFuncCall(); f != nil {
		// min(c) / max(c) of an order-searchable column: the envelope of the least/greatest value.
		if c, ok, err := a.minMax(f, rt.Name == "", sc, pos); err != nil || ok {
			oc.col = c
			return oc, err
		}
	}
	if sl := rt.Val.GetSubLink(); sl != nil && sl.SubLinkType == pg.SubLinkType_EXPR_SUBLINK {
		// A scalar subquery returning an encrypted column returns its ciphertext unchanged.
		res, err := a.query(sl.Subselect, sc, pos)
		if err != nil {
			return oc, err
		}
		if len(res.cols) == 1 && !res.cols[0].unknownWidth {
			oc.col = res.cols[0].col
		}
		if oc.col != nil {
			a.stmt.Touches = true
		}
		return oc, nil
	}
	return oc, a.expr(rt.Val, sc, "an expression in the select list", pos)
}

// checkCopy: a `*` column inserted into an encrypted column must be that same column's
// ciphertext (associated data binds ciphertext to its column).
func checkCopy(assignTo []*Column, i int, c outCol, pos int) error {
	if i >= len(assignTo) {
		return nil
	}
	want := assignTo[i]
	if c.unknownWidth {
		for _, w := range assignTo[i:] {
			if w != nil {
				return unsupported(w, "INSERT … SELECT * from a table whose columns pgseal does not know", pos)
			}
		}
		return nil
	}
	if want == nil && c.col == nil || sameColumn(want, c.col) {
		return nil
	}
	if want == nil {
		want = c.col
	}
	return unsupported(want, "copying values between different columns", pos)
}

func isStar(cr *pg.ColumnRef) bool {
	return len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

func starQualifier(cr *pg.ColumnRef) string {
	if len(cr.Fields) >= 2 {
		if s := cr.Fields[len(cr.Fields)-2].GetString_(); s != nil {
			return s.Sval
		}
	}
	return ""
}

// derivedName is the column name PostgreSQL gives an unnamed target (enough for ORDER BY
// name matching and subquery column resolution).
func derivedName(n *pg.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.Sval
		}
	case n.GetFuncCall() != nil:
		f := strs(n.GetFuncCall().Funcname)
		return f[len(f)-1]
	case n.GetTypeCast() != nil:
		if name := derivedName(n.GetTypeCast().Arg); name != "?column?" {
			return name
		}
		tn := strs(n.GetTypeCast().TypeName.Names)
		return tn[len(tn)-1]
	}
	return "?column?"
}

// fromItem adds one FROM item (and, for joins, all of its parts) to sc.
func (a *analyzer) fromItem(n *pg.Node, sc *scope, pos int) error {
	switch v := n.GetNode().(type) {
	case *pg.Node_RangeVar:
		r, err := a.rangeVarRel(sc, v.RangeVar, pos)
		if err != nil {
			return err
		}
		sc.rels = append(sc.rels, r)
		return nil
	case *pg.Node_RangeSubselect:
		return a.subselect(v.RangeSubselect, sc, pos)
	case *pg.Node_JoinExpr:
		return a.join(v.JoinExpr, sc, pos)
	case *pg.Node_RangeFunction:
		return a.rangeFunction(v.RangeFunction, sc, pos)
	}
	return unsupportedf(pos, "%s in FROM of a statement on an encrypted table is not supported", nodeName(n))
}

func (a *analyzer) subselect(s *pg.RangeSubselect, sc *scope, pos int) error {
	res, err := a.query(s.Subquery, sc, pos)
	if err != nil {
		return err
	}
	r := &rel{res: res, hasEnc: res.hasEncrypted() != nil}
	if s.Alias != nil {
		r.alias = s.Alias.Aliasname
		if names := strs(s.Alias.Colnames); len(names) > 0 {
			if r, err = renameCols(r, names, pos); err != nil {
				return err
			}
		}
	}
	sc.rels = append(sc.rels, r)
	return nil
}

func (a *analyzer) rangeFunction(f *pg.RangeFunction, sc *scope, pos int) error {
	for _, item := range f.Functions {
		if l := item.GetList(); l != nil && len(l.Items) > 0 {
			if err := a.expr(l.Items[0], sc, "a function in FROM", pos); err != nil {
				return err
			}
		}
	}
	r := &rel{}
	if f.Alias != nil {
		r.alias = f.Alias.Aliasname
	}
	sc.rels = append(sc.rels, r)
	return nil
}

// join adds both sides, then checks ON/USING. USING and NATURAL compare columns with plain `=`,
// which we cannot rewrite, so they are refused on encrypted columns.
func (a *analyzer) join(j *pg.JoinExpr, sc *scope, pos int) error {
	first := len(sc.rels)
	if err := a.fromItem(j.Larg, sc, pos); err != nil {
		return err
	}
	if err := a.fromItem(j.Rarg, sc, pos); err != nil {
		return err
	}
	sides := sc.rels[first:]
	enc := false
	for _, r := range sides {
		enc = enc || r.hasEnc
	}
	if j.Alias != nil && enc {
		return unsupportedf(pos, "an aliased join of a table with encrypted columns is not supported")
	}
	if j.IsNatural && enc {
		return unsupportedf(pos, "NATURAL JOIN of a table with encrypted columns is not supported")
	}
	for _, u := range strs(j.UsingClause) {
		for _, r := range sides {
			if c, _ := r.lookupCol(u); c != nil {
				return unsupported(c, "JOIN USING", pos)
			}
		}
	}
	if len(j.UsingClause) > 0 || j.IsNatural {
		for _, r := range sides {
			r.merged = true
		}
	}
	return a.predicate(j.Quals, sc, "JOIN ON", pos)
}

// window checks a window definition (PARTITION BY / ORDER BY).
func (a *analyzer) window(w *pg.WindowDef, sc *scope, pos int) error {
	if w == nil {
		return nil
	}
	if err := a.sortLike(w.PartitionClause, sc, nil, "PARTITION BY", pos); err != nil {
		return err
	}
	if err := a.orderBy(w.OrderClause, sc, nil, pos); err != nil {
		return err
	}
	return a.exprs([]*pg.Node{w.StartOffset, w.EndOffset}, sc, "a window frame", pos)
}
