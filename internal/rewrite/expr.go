package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// exprs walks several expressions (nil entries are skipped).
func (a *analyzer) exprs(list []*pg.Node, sc *scope, construct string, pos int) error {
	for _, n := range list {
		if err := a.expr(n, sc, construct, pos); err != nil {
			return err
		}
	}
	return nil
}

// expr walks a general expression. Any reference to an encrypted column met here is used by
// construct (the nearest enclosing function, operator or clause) and refused; the forms we can
// rewrite (equality predicates, bare outputs, assignments) are recognised by their parents before
// reaching here. Unknown node types are refused: this walk only runs on statements that mention
// an encrypted table.
func (a *analyzer) expr(n *pg.Node, sc *scope, construct string, pos int) error {
	if n == nil || n.GetNode() == nil {
		return nil
	}
	switch v := n.GetNode().(type) {
	case *pg.Node_ColumnRef:
		return a.columnInExpr(v.ColumnRef, sc, construct)
	case *pg.Node_ParamRef:
		return a.useParam(int(v.ParamRef.Number), Param{Kind: ParamPass}, int(v.ParamRef.Location))
	case *pg.Node_AConst, *pg.Node_SetToDefault, *pg.Node_SqlvalueFunction, *pg.Node_CurrentOfExpr:
		return nil
	case *pg.Node_TypeCast:
		return a.expr(v.TypeCast.Arg, sc, "a cast to "+typeName(v.TypeCast.TypeName), pos)
	case *pg.Node_CollateClause:
		return a.expr(v.CollateClause.Arg, sc, "COLLATE", pos)
	case *pg.Node_AExpr:
		return a.aExpr(v.AExpr, sc, pos)
	case *pg.Node_BoolExpr:
		return a.predicates(v.BoolExpr.Args, sc, construct, pos)
	case *pg.Node_NullTest:
		if _, ok, err := a.bareEncrypted(v.NullTest.Arg, sc); ok || err != nil {
			return err
		}
		return a.expr(v.NullTest.Arg, sc, "IS NULL", pos)
	case *pg.Node_BooleanTest:
		return a.expr(v.BooleanTest.Arg, sc, "IS TRUE/FALSE", pos)
	case *pg.Node_FuncCall:
		return a.funcCall(v.FuncCall, sc, pos)
	case *pg.Node_SubLink:
		return a.subLink(v.SubLink, sc, pos)
	case *pg.Node_CaseExpr:
		return a.caseExpr(v.CaseExpr, sc, pos)
	case *pg.Node_CoalesceExpr:
		return a.exprs(v.CoalesceExpr.Args, sc, "COALESCE", pos)
	case *pg.Node_MinMaxExpr:
		return a.exprs(v.MinMaxExpr.Args, sc, "GREATEST/LEAST", pos)
	case *pg.Node_RowExpr:
		return a.exprs(v.RowExpr.Args, sc, "a row constructor", pos)
	case *pg.Node_AArrayExpr:
		return a.exprs(v.AArrayExpr.Elements, sc, "an ARRAY constructor", pos)
	case *pg.Node_AIndirection:
		if err := a.expr(v.AIndirection.Arg, sc, "a subscript or field selection", pos); err != nil {
			return err
		}
		return a.exprs(v.AIndirection.Indirection, sc, "a subscript", pos)
	case *pg.Node_AIndices:
		return a.exprs([]*pg.Node{v.AIndices.Lidx, v.AIndices.Uidx}, sc, "a subscript", pos)
	case *pg.Node_String_, *pg.Node_AStar:
		return nil
	case *pg.Node_List:
		return a.exprs(v.List.Items, sc, construct, pos)
	case *pg.Node_GroupingFunc:
		return a.exprs(v.GroupingFunc.Args, sc, "GROUPING", pos)
	}
	return unsupportedf(nodeLoc(n, pos), "%s in a statement on an encrypted table is not supported", nodeName(n))
}

// caseExpr walks a CASE: its WHEN conditions as predicates, its operand and results as
// expressions used by CASE.
func (a *analyzer) caseExpr(c *pg.CaseExpr, sc *scope, pos int) error {
	if err := a.exprs([]*pg.Node{c.Arg, c.Defresult}, sc, "CASE", pos); err != nil {
		return err
	}
	for _, w := range c.Args {
		if cw := w.GetCaseWhen(); cw != nil {
			if err := a.predicate(cw.Expr, sc, "CASE WHEN", pos); err != nil {
				return err
			}
			if err := a.expr(cw.Result, sc, "CASE", pos); err != nil {
				return err
			}
		}
	}
	return nil
}

// columnInExpr refuses an encrypted column used by construct.
func (a *analyzer) columnInExpr(cr *pg.ColumnRef, sc *scope, construct string) error {
	a.see(cr)
	if isStar(cr) {
		return nil
	}
	c, err := a.resolve(sc, strs(cr.Fields), int(cr.Location))
	if err != nil || c == nil {
		return err
	}
	return unsupported(c, construct, int(cr.Location))
}

// bareEncrypted reports whether n is a plain reference to an encrypted column.
func (a *analyzer) bareEncrypted(n *pg.Node, sc *scope) (*Column, bool, error) {
	cr := n.GetColumnRef()
	if cr == nil || isStar(cr) {
		return nil, false, nil
	}
	a.see(cr)
	c, err := a.resolve(sc, strs(cr.Fields), int(cr.Location))
	if err != nil || c == nil {
		return nil, false, err
	}
	a.stmt.Touches = true
	return c, true, nil
}

// funcCall allows count(col) (it counts non-NULL values, ciphertext or not); any other use of an
// encrypted column inside a function call is refused naming the function. Whatever the arguments,
// the aggregate ORDER BY, FILTER and OVER parts are always walked: they are expressions of their
// own and may compare an encrypted column with a literal.
func (a *analyzer) funcCall(f *pg.FuncCall, sc *scope, pos int) error {
	parts := strs(f.Funcname)
	name := parts[len(parts)-1]
	construct := "function " + name + "()"
	if f.AggDistinct {
		construct = name + "(DISTINCT …)"
	}
	if err := a.funcArgs(f, sc, name, len(parts), construct, pos); err != nil {
		return err
	}
	if err := a.orderBy(f.AggOrder, sc, nil, pos); err != nil {
		return err
	}
	if err := a.predicate(f.AggFilter, sc, "FILTER", pos); err != nil {
		return err
	}
	return a.window(f.Over, sc, pos)
}

// funcArgs walks a call's arguments; count(col) of a bare encrypted column needs no rewrite.
func (a *analyzer) funcArgs(f *pg.FuncCall, sc *scope, name string, nparts int, construct string, pos int) error {
	if name == "count" && nparts == 1 && len(f.Args) == 1 && !f.AggDistinct && len(f.AggOrder) == 0 {
		if _, ok, err := a.bareEncrypted(f.Args[0], sc); ok || err != nil {
			return err
		}
	}
	return a.exprs(f.Args, sc, construct, pos)
}

// subLink analyses EXISTS / IN / ANY / scalar / ARRAY subqueries. `col IN (SELECT col2 …)` with
// two encrypted columns of one equality domain compares their terms.
func (a *analyzer) subLink(s *pg.SubLink, sc *scope, pos int) error {
	res, err := a.query(s.Subselect, sc, pos)
	if err != nil {
		return err
	}
	if s.SubLinkType == pg.SubLinkType_ANY_SUBLINK && isEqOp(s.OperName) {
		if c, ok, err := a.bareEncrypted(s.Testexpr, sc); err != nil {
			return err
		} else if ok {
			return a.inSubquery(c, s, res, pos)
		}
	}
	if err := a.expr(s.Testexpr, sc, "a subquery comparison", pos); err != nil {
		return err
	}
	if s.SubLinkType != pg.SubLinkType_EXISTS_SUBLINK {
		if c := res.hasEncrypted(); c != nil {
			return unsupported(c, "a subquery used as a value", pos)
		}
	}
	return nil
}

func (a *analyzer) inSubquery(c *Column, s *pg.SubLink, res *result, pos int) error {
	if len(res.cols) != 1 || res.cols[0].col == nil || res.cols[0].refStart < 0 {
		return unsupported(c, "IN (subquery) over a value that is not an encrypted column of its equality domain", pos)
	}
	other := res.cols[0]
	if err := compatible(c, other.col, pos); err != nil {
		return err
	}
	if err := a.termColumn(s.Testexpr.GetColumnRef()); err != nil {
		return err
	}
	a.addEdit(Edit{Start: other.refStart, End: other.refEnd, Kind: EditStatic,
		Text: TermExpr(a.sql[other.refStart:other.refEnd])})
	a.stmt.Terms = true
	return nil
}

func isEqOp(name []*pg.Node) bool {
	p := strs(name)
	return len(p) == 0 || p[len(p)-1] == "="
}

func typeName(t *pg.TypeName) string {
	if t == nil {
		return "a type"
	}
	p := strs(t.Names)
	if len(p) == 2 && p[0] == "pg_catalog" {
		p = p[1:]
	}
	return strings.Join(p, ".")
}
