package rewrite

import (
	"fmt"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// Term expression layout: bytes TermOffset..TermOffset+TermLength-1 (1-based, as SQL substring
// counts) of an envelope hold its equality term.
const (
	TermOffset = 24
	TermLength = 16
)

// TermExpr is the one canonical SQL expression for a column's equality term. Expression indexes
// must be created with exactly this expression so the planner uses them for =, IN and UNIQUE.
func TermExpr(colRef string) string {
	return fmt.Sprintf("substring(%s from %d for %d)", colRef, TermOffset, TermLength)
}

// predicate walks a condition (WHERE, ON, HAVING, …); the equality forms are found by aExpr
// wherever they are.
func (a *analyzer) predicate(n *pg.Node, sc *scope, construct string, pos int) error {
	return a.expr(n, sc, construct, pos)
}

func (a *analyzer) predicates(list []*pg.Node, sc *scope, construct string, pos int) error {
	return a.exprs(list, sc, construct, pos)
}

// aExpr handles operator expressions: the equality family is rewritten to compare terms,
// everything else refuses encrypted operands naming the operator.
func (a *analyzer) aExpr(e *pg.A_Expr, sc *scope, pos int) error {
	loc := int(e.Location)
	name := strs(e.Name)
	op := ""
	if len(name) > 0 {
		op = name[len(name)-1]
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if isLike(e) && e.Lexpr != nil {
			return a.like(e, op, sc, loc)
		}
		if (op == "=" || op == "<>") && e.Lexpr != nil {
			return a.equality(e.Lexpr, e.Rexpr, op, sc, loc)
		}
		if (op == "<" || op == "<=" || op == ">" || op == ">=") && e.Lexpr != nil && len(name) == 1 {
			return a.ordCompare(e, op, sc, loc)
		}
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, "operator "+op, pos)
	case pg.A_Expr_Kind_AEXPR_DISTINCT:
		return a.equality(e.Lexpr, e.Rexpr, "IS DISTINCT FROM", sc, loc)
	case pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return a.equality(e.Lexpr, e.Rexpr, "IS NOT DISTINCT FROM", sc, loc)
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return a.between(e, sc, loc)
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		if isLike(e) {
			return a.like(e, op, sc, loc)
		}
	case pg.A_Expr_Kind_AEXPR_IN:
		return a.inList(e, op, sc, loc)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		if (op == "=" && e.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY) || (op == "<>" && e.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL) {
			return a.anyArray(e, op, sc, loc)
		}
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, "operator "+op+" ANY/ALL", pos)
	}
	return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, aExprName(e.Kind, op), pos)
}

func aExprName(k pg.A_Expr_Kind, op string) string {
	switch k {
	case pg.A_Expr_Kind_AEXPR_LIKE:
		return "LIKE"
	case pg.A_Expr_Kind_AEXPR_ILIKE:
		return "ILIKE"
	case pg.A_Expr_Kind_AEXPR_SIMILAR:
		return "SIMILAR TO"
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		return "NULLIF"
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return "BETWEEN"
	}
	return "operator " + op
}

// equality rewrites `col = x` (and <>, IS [NOT] DISTINCT FROM) to compare equality terms.
func (a *analyzer) equality(l, r *pg.Node, op string, sc *scope, loc int) error {
	lc, lok, err := a.bareEncrypted(l, sc)
	if err != nil {
		return err
	}
	rc, rok, err := a.bareEncrypted(r, sc)
	if err != nil {
		return err
	}
	switch {
	case !lok && !rok:
		return a.exprs([]*pg.Node{l, r}, sc, "operator "+op, loc)
	case lok && rok:
		if err := compatible(lc, rc, loc); err != nil {
			return err
		}
		if err := a.termColumn(l.GetColumnRef()); err != nil {
			return err
		}
		return a.termColumn(r.GetColumnRef())
	case lok:
		if ordEqual(lc, op) {
			return a.ordEquality(l, r, op, false, sc, loc)
		}
		return a.compareWith(lc, l, r, op, sc, loc)
	default:
		if ordEqual(rc, op) {
			return a.ordEquality(r, l, op, true, sc, loc)
		}
		return a.compareWith(rc, r, l, op, sc, loc)
	}
}

// ordEqual reports whether an equality construct on c (op: =, <>, IS [NOT] DISTINCT FROM; IN
// and = ANY ask for =, NOT IN for <>) is answered by c's order terms: c has order search but no
// equality search, and is not text (a text value's order term may order only its prefix,
// ord_max_bytes). A non-text value's order form is one-to-one with the values PostgreSQL's =
// equates (-0 and 0, NaN and NaN, 1.50 and 1.5 each share one: value.OrderForm), so its terms are
// equal exactly when the values are; the leakage is within order's, which the column's
// configuration acknowledges. Like a range, whatever can hold for another keyset's row (<>, NOT
// IN, IS DISTINCT FROM) is confined to the session's keyset (ordWith, ordInList, ordDistinct);
// = , IN and = ANY need no bound. <> ALL still needs equality search (ordAnyArray).
func ordEqual(c *Column, op string) bool {
	switch op {
	case "=", "<>", "IS DISTINCT FROM", "IS NOT DISTINCT FROM":
		return !c.Eq && c.Ord && !isTextType(c)
	}
	return false
}

// ordEquality rewrites `c = x` and `c <> x` through ordWith, `c IS [NOT] DISTINCT FROM x`
// through ordDistinct.
func (a *analyzer) ordEquality(colNode, other *pg.Node, op string, flipped bool, sc *scope, loc int) error {
	r, ok, err := a.ordRefOf(colNode, sc)
	if err != nil {
		return err
	}
	if !ok { // ordEqual saw an order-searchable column: not reached, but never pass it through
		return unsupportedf(loc, "cannot rewrite %s on an encrypted column", op)
	}
	if op == "IS DISTINCT FROM" || op == "IS NOT DISTINCT FROM" {
		return a.ordDistinct(r, other, op, flipped, sc, loc)
	}
	return a.ordWith(r, other, op, flipped, sc, loc)
}

// compareWith rewrites the column side to its term and the other side (a constant or a
// parameter) to the term of its value. `col = NULL` needs nothing.
func (a *analyzer) compareWith(c *Column, colNode, other *pg.Node, op string, sc *scope, loc int) error {
	if !c.Eq {
		return unsupported(c, op+" (no equality search is configured)", loc)
	}
	skip, err := a.termOperand(c, other, sc, op, loc)
	if err != nil || skip {
		return err
	}
	return a.termColumn(colNode.GetColumnRef())
}

// termOperand turns one constant or parameter compared with c into a term. skip reports a
// NULL constant (the comparison needs no rewrite).
func (a *analyzer) termOperand(c *Column, n *pg.Node, sc *scope, op string, loc int) (skip bool, err error) {
	o, err := a.classify(n, sc, c)
	if err != nil {
		return false, err
	}
	if o.kind == opNull {
		a.dropNullCast(o)
		return true, nil
	}
	if !comparable(o.from, c) {
		return false, unsupported(c, op+" with a value cast to "+o.from+" (its plaintext type is "+c.Type+")", loc)
	}
	switch o.kind {
	case opParam:
		return false, a.paramAs(o, Param{Kind: ParamTerm, Column: c, InList: a.inListArray})
	case opLiteral:
		if err := constComparable(o, c, a.sqlOperator(op), false, loc); err != nil {
			return false, err
		}
		a.float4AsFloat8(&o, c)
		a.numericOnInt(&o, c)
		from := o.from
		if from == "" {
			from = integerConstType(o, c)
		}
		a.addEdit(Edit{Start: o.start, End: o.end, Kind: EditTerm, Literal: o.literal, Cast: from, CastLen: o.castLen, Numeric: o.numeric, Column: c, InList: a.inListArray})
		return false, nil
	case opColumn:
		if err := compatible(c, o.col, loc); err != nil {
			return false, err
		}
		return false, a.termColumn(n.GetColumnRef())
	}
	return false, unsupported(c, op+" with an expression that is not a constant or parameter", loc)
}

// inList rewrites `col [NOT] IN (a, b, …)`.
func (a *analyzer) inList(e *pg.A_Expr, op string, sc *scope, loc int) error {
	c, ok, err := a.bareEncrypted(e.Lexpr, sc)
	if err != nil {
		return err
	}
	items := e.Rexpr.GetList().GetItems()
	if !ok {
		return a.exprs(append([]*pg.Node{e.Lexpr}, items...), sc, "IN", loc)
	}
	if !c.Eq {
		if ordEqual(c, op) {
			return a.ordInList(e, op, items, sc, loc)
		}
		return unsupported(c, construct(op, "IN")+" (no equality search is configured)", loc)
	}
	rewrite, values := false, 0
	for _, item := range items {
		if item.GetColumnRef() == nil {
			values++
		}
	}
	a.inListArray, a.inListOp = values > 1, op
	defer func() { a.inListArray, a.inListOp = false, "" }()
	for _, item := range items {
		skip, err := a.termOperand(c, item, sc, "IN", loc)
		if err != nil {
			return err
		}
		rewrite = rewrite || !skip
	}
	if !rewrite {
		return nil
	}
	return a.termColumn(e.Lexpr.GetColumnRef())
}

// construct names an IN list by its operator: NOT IN for <>.
func construct(op, in string) string {
	if op == "<>" {
		return "NOT " + in
	}
	return in
}

// anyArray rewrites `col = ANY($n)` (the parameter becomes an array of terms) and
// `col = ANY(ARRAY[…])` (each element a term); also `col <> ALL(…)`.
func (a *analyzer) anyArray(e *pg.A_Expr, op string, sc *scope, loc int) error {
	c, ok, err := a.bareEncrypted(e.Lexpr, sc)
	if err != nil {
		return err
	}
	if !ok {
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, "operator "+op+" ANY/ALL", loc)
	}
	if !c.Eq {
		if op == "=" && ordEqual(c, op) {
			return a.ordAnyArray(e, c, sc, loc)
		}
		return unsupported(c, anyName(op)+" (no equality search is configured)", loc)
	}
	if arr := e.Rexpr.GetAArrayExpr(); arr != nil {
		for _, item := range arr.Elements {
			if _, err := a.termOperand(c, item, sc, op+" ANY", loc); err != nil {
				return err
			}
		}
		return a.termColumn(e.Lexpr.GetColumnRef())
	}
	if lit, ok, err := a.arrayLiteral(e.Rexpr, c); err != nil || ok {
		if err != nil || lit.kind == opNull {
			return err // = ANY(NULL) matches nothing, whatever the column holds
		}
		a.addEdit(Edit{Start: lit.start, End: lit.end, Kind: EditTermArray, Literal: lit.literal, Column: c})
		return a.termColumn(e.Lexpr.GetColumnRef())
	}
	o, err := a.classifyArray(e.Rexpr, c)
	if err != nil {
		return err
	}
	if o.kind != opParam {
		return unsupported(c, op+" ANY with something other than a parameter, an array literal or ARRAY[…]", loc)
	}
	if err := a.paramAs(o, Param{Kind: ParamTermArray, Column: c}); err != nil {
		return err
	}
	return a.termColumn(e.Lexpr.GetColumnRef())
}

// anyName names the construct anyArray rewrites: = ANY, or <> ALL.
func anyName(op string) string {
	if op == "<>" {
		return "<> ALL"
	}
	return op + " ANY"
}

// compatible: two encrypted columns may be compared when both have equality search in one domain.
func compatible(x, y *Column, loc int) error {
	if x.Eq && y.Eq && x.domain() == y.domain() {
		return nil
	}
	return unsupported(x, "comparing it with "+y.display()+" (needs equality search on both in one domain)", loc)
}

// termColumn replaces a column reference by its term expression.
func (a *analyzer) termColumn(cr *pg.ColumnRef) error {
	start := int(cr.Location)
	end, ok := a.tokens().colRefEnd(start, len(cr.Fields))
	if !ok {
		return unsupportedf(start, "cannot locate a column reference to rewrite")
	}
	a.stmt.Touches = true
	a.addEdit(Edit{Start: start, End: end, Kind: EditStatic, Text: TermExpr(a.sql[start:end])})
	a.stmt.Terms = true
	return nil
}

// integerConstType is the type PostgreSQL gives a bare integer constant compared with a narrower
// integer column: int4, or int8 beyond int4's range. PostgreSQL then runs a cross-type operator
// (int24eq, int48eq, …), under which a constant outside the column's range equals none of its
// values; the wire converts it as it converts `$1::int8` (empty term) instead of failing with
// 22003. "" when the constant is a string, the column is not int2/int4, or the constant is
// beyond int8 (numeric: it still fails, with 22003).
func integerConstType(o operand, c *Column) string {
	t := canonicalType(c.Type)
	if t != "int2" && t != "int4" {
		return ""
	}
	switch {
	case o.constKind == 'i':
		if t == "int4" {
			return ""
		}
		return "int4"
	case o.constKind == 'f' && isDigits(o.literal):
		if _, err := strconv.ParseInt(o.literal, 10, 64); err == nil {
			return "int8"
		}
	}
	return ""
}

// sqlOperator is the operator PostgreSQL resolves for an equality construct, as its errors name
// it: IN is = (NOT IN <>), IS [NOT] DISTINCT FROM is =, "= ANY" is =.
func (a *analyzer) sqlOperator(construct string) string {
	switch {
	case construct == "IN":
		return a.inListOp
	case construct == "IS DISTINCT FROM" || construct == "IS NOT DISTINCT FROM":
		return "="
	}
	return strings.TrimSuffix(strings.TrimSuffix(construct, " ANY"), " ALL")
}
