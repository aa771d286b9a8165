package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// query analyses a statement that can produce rows (as a top-level statement, a subquery, a CTE
// body or an EXPLAIN target) and returns its result shape.
func (a *analyzer) query(n *pg.Node, parent *scope, pos int) (*result, error) {
	switch v := n.GetNode().(type) {
	case *pg.Node_SelectStmt:
		return a.selectStmt(v.SelectStmt, parent, nil, pos)
	case *pg.Node_InsertStmt:
		return a.insert(v.InsertStmt, parent, pos)
	case *pg.Node_UpdateStmt:
		return a.update(v.UpdateStmt, parent, pos)
	case *pg.Node_DeleteStmt:
		return a.delete(v.DeleteStmt, parent, pos)
	case *pg.Node_DeclareCursorStmt:
		return a.query(v.DeclareCursorStmt.Query, parent, pos)
	}
	return nil, unsupportedf(pos, "%s on an encrypted table is not supported", nodeName(n))
}

// with registers the CTEs of a WITH clause in sc.
func (a *analyzer) with(w *pg.WithClause, sc *scope, pos int) error {
	if w == nil {
		return nil
	}
	if sc.ctes == nil {
		sc.ctes = map[string]*result{}
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			return unsupportedf(pos, "%s in WITH is not supported", nodeName(n))
		}
		if w.Recursive {
			// The recursive self-reference has a shape we do not know yet.
			sc.ctes[cte.Ctename] = nil
		}
		if cte.SearchClause != nil || cte.CycleClause != nil {
			return unsupportedf(pos, "SEARCH/CYCLE in a WITH query over an encrypted table is not supported")
		}
		res, err := a.query(cte.Ctequery, sc, pos)
		if err != nil {
			return err
		}
		if names := strs(cte.Aliascolnames); len(names) > 0 && res != nil {
			r, err := renameCols(&rel{res: res}, names, pos)
			if err != nil {
				return err
			}
			res = r.res
		}
		sc.ctes[cte.Ctename] = res
	}
	return nil
}

// selectStmt analyses a SELECT (or VALUES, or set operation). assignTo, when not nil, says which
// encrypted column each output position is inserted into (INSERT … SELECT / VALUES).
func (a *analyzer) selectStmt(s *pg.SelectStmt, parent *scope, assignTo []*Column, pos int) (*result, error) {
	sc := newScope(parent)
	if err := a.with(s.WithClause, sc, pos); err != nil {
		return nil, err
	}
	var res *result
	var err error
	switch {
	case s.Op != pg.SetOperation_SETOP_NONE:
		res, err = a.setOp(s, sc, assignTo, pos)
	case len(s.ValuesLists) > 0:
		res, err = a.values(s.ValuesLists, sc, assignTo, pos)
	default:
		res, err = a.plainSelect(s, sc, assignTo, pos)
	}
	if err != nil {
		return nil, err
	}
	if err := a.orderBy(s.SortClause, sc, res, pos); err != nil {
		return nil, err
	}
	if err := a.exprs([]*pg.Node{s.LimitCount, s.LimitOffset}, sc, "LIMIT/OFFSET", pos); err != nil {
		return nil, err
	}
	if s.IntoClause != nil {
		if c := res.hasEncrypted(); c != nil {
			return nil, unsupported(c, "SELECT INTO", pos)
		}
		// Creating a table that the configuration says is encrypted would fill it with plaintext.
		if rv := s.IntoClause.Rel; rv != nil {
			if t := a.schema.lookup(rv.Schemaname, rv.Relname); t != nil && len(t.Encrypted) > 0 {
				return nil, unsupportedf(pos, "SELECT INTO %s, a table with encrypted columns, is not supported", rv.Relname)
			}
		}
	}
	return res, nil
}

// setOp analyses UNION/INTERSECT/EXCEPT. Only UNION ALL may carry encrypted columns: the others
// compare rows, and ciphertexts of equal values differ.
func (a *analyzer) setOp(s *pg.SelectStmt, sc *scope, assignTo []*Column, pos int) (*result, error) {
	l, err := a.selectStmt(s.Larg, sc, assignTo, pos)
	if err != nil {
		return nil, err
	}
	r, err := a.selectStmt(s.Rarg, sc, assignTo, pos)
	if err != nil {
		return nil, err
	}
	if s.Op != pg.SetOperation_SETOP_UNION || !s.All {
		for _, res := range []*result{l, r} {
			if c := res.hasEncrypted(); c != nil {
				return nil, unsupported(c, setOpName(s), pos)
			}
		}
	}
	return mergeBranches(l, r, pos)
}

func setOpName(s *pg.SelectStmt) string {
	name := map[pg.SetOperation]string{pg.SetOperation_SETOP_UNION: "UNION",
		pg.SetOperation_SETOP_INTERSECT: "INTERSECT", pg.SetOperation_SETOP_EXCEPT: "EXCEPT"}[s.Op]
	if s.All {
		return name + " ALL"
	}
	return name
}

// mergeBranches combines the shapes of two set-operation branches: every position must carry
// the same encrypted column in both (or plaintext in both).
func mergeBranches(l, r *result, pos int) (*result, error) {
	unknown := func(res *result) bool {
		for _, c := range res.cols {
			if c.unknownWidth {
				return true
			}
		}
		return false
	}
	if unknown(l) || unknown(r) || len(l.cols) != len(r.cols) {
		for _, res := range []*result{l, r} {
			if c := res.hasEncrypted(); c != nil {
				return nil, unsupported(c, "a set operation whose branches pgseal cannot line up", pos)
			}
		}
		return l, nil
	}
	out := &result{cols: make([]outCol, len(l.cols))}
	for i := range l.cols {
		lc, rc := l.cols[i], r.cols[i]
		out.cols[i] = outCol{name: lc.name, col: lc.col, refStart: -1, refEnd: -1}
		switch {
		case lc.col == nil && rc.col == nil:
		case sameColumn(lc.col, rc.col):
		case lc.col == nil && lc.isNull:
			out.cols[i].col = rc.col
		case rc.col == nil && rc.isNull:
		default:
			c := lc.col
			if c == nil {
				c = rc.col
			}
			return nil, unsupported(c, "a set operation mixing it with other values in one column", pos)
		}
	}
	return out, nil
}

// values analyses a VALUES list; with assignTo its items are inserted into those columns.
func (a *analyzer) values(lists []*pg.Node, sc *scope, assignTo []*Column, pos int) (*result, error) {
	width := 0
	for _, l := range lists {
		items := l.GetList().GetItems()
		width = max(width, len(items))
		for i, item := range items {
			if i < len(assignTo) && assignTo[i] != nil {
				if err := a.assign(assignTo[i], item, sc, "an expression in INSERT VALUES", pos); err != nil {
					return nil, err
				}
				continue
			}
			if err := a.expr(item, sc, "an expression in VALUES", pos); err != nil {
				return nil, err
			}
		}
	}
	res := &result{cols: make([]outCol, width)}
	for i := range res.cols {
		res.cols[i] = outCol{name: "column" + itoa(i+1), refStart: -1, refEnd: -1}
		if i < len(assignTo) && assignTo[i] != nil {
			// What was assigned is now that column's ciphertext.
			res.cols[i].col = assignTo[i]
		}
	}
	return res, nil
}

// plainSelect analyses SELECT … FROM … WHERE … GROUP BY … HAVING ….
func (a *analyzer) plainSelect(s *pg.SelectStmt, sc *scope, assignTo []*Column, pos int) (*result, error) {
	for _, f := range s.FromClause {
		if err := a.fromItem(f, sc, pos); err != nil {
			return nil, err
		}
	}
	if err := a.predicate(s.WhereClause, sc, "WHERE", pos); err != nil {
		return nil, err
	}
	res, err := a.targets(s.TargetList, sc, assignTo, pos)
	if err != nil {
		return nil, err
	}
	if err := a.groupBy(s.GroupClause, sc, res, pos); err != nil {
		return nil, err
	}
	if err := a.predicate(s.HavingClause, sc, "HAVING", pos); err != nil {
		return nil, err
	}
	if err := a.distinct(s.DistinctClause, sc, res, pos); err != nil {
		return nil, err
	}
	for _, w := range s.WindowClause {
		if err := a.window(w.GetWindowDef(), sc, pos); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// distinct refuses DISTINCT over encrypted outputs and DISTINCT ON encrypted columns.
func (a *analyzer) distinct(list []*pg.Node, sc *scope, res *result, pos int) error {
	if len(list) == 0 {
		return nil
	}
	if len(list) == 1 && list[0].GetNode() == nil {
		if c := res.hasEncrypted(); c != nil {
			return unsupported(c, "DISTINCT", pos)
		}
		return nil
	}
	return a.sortLike(list, sc, res, "DISTINCT ON", pos)
}

func (a *analyzer) orderBy(list []*pg.Node, sc *scope, res *result, pos int) error {
	items := make([]*pg.Node, 0, len(list))
	for _, n := range list {
		if sb := n.GetSortBy(); sb != nil {
			done, err := a.ordSort(sb.Node, sc, res, pos)
			if err != nil {
				return err
			}
			if !done {
				items = append(items, sb.Node)
			}
			continue
		}
		items = append(items, n)
	}
	return a.sortLike(items, sc, res, "ORDER BY", pos)
}

func (a *analyzer) groupBy(list []*pg.Node, sc *scope, res *result, pos int) error {
	var items []*pg.Node
	for _, n := range list {
		if gs := n.GetGroupingSet(); gs != nil {
			items = append(items, gs.Content...)
			continue
		}
		items = append(items, n)
	}
	return a.sortLike(items, sc, res, "GROUP BY", pos)
}

// sortLike checks ORDER BY / GROUP BY / DISTINCT ON items: output positions and output names
// refer to result columns, anything else is an expression.
func (a *analyzer) sortLike(items []*pg.Node, sc *scope, res *result, construct string, pos int) error {
	for _, n := range items {
		k, ok := intConst(n)
		a.plan.valueDep = a.plan.valueDep || ok // ORDER BY 2: the constant's value decides
		if ok && res != nil && k >= 1 && k <= len(res.cols) {
			if c := res.cols[k-1].col; c != nil {
				return unsupported(c, construct, nodeLoc(n, pos))
			}
			continue
		}
		if name, ok := bareName(n); ok && res != nil {
			for _, oc := range res.cols {
				if oc.name == name && oc.col != nil {
					return unsupported(oc.col, construct, nodeLoc(n, pos))
				}
			}
		}
		if gs := n.GetGroupingSet(); gs != nil {
			if err := a.sortLike(gs.Content, sc, res, construct, pos); err != nil {
				return err
			}
			continue
		}
		if err := a.expr(n, sc, construct, pos); err != nil {
			return err
		}
	}
	return nil
}

func intConst(n *pg.Node) (int, bool) {
	if c := n.GetAConst(); c != nil && c.GetIval() != nil {
		return int(c.GetIval().Ival), true
	}
	return 0, false
}

func bareName(n *pg.Node) (string, bool) {
	if cr := n.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
		if s := cr.Fields[0].GetString_(); s != nil {
			return s.Sval, true
		}
	}
	return "", false
}
