package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// between rewrites `c [NOT] BETWEEN [SYMMETRIC] x AND y` for an order-searchable column
// (docs/search.md §4): the column becomes its order term, the bounds their terms. Both bounds are
// terms of the session's keyset, so BETWEEN stays inside it; NOT BETWEEN is confined by the
// keyset bounds of the first non-NULL bound:
//
//	((ord(c) NOT BETWEEN Tx AND Ty) AND ord(c) > keysetLow(P) AND ord(c) < keysetHigh(P))
//
// with P = Tx for a constant x, else Ty for a constant y, else coalesce($x, $y). A NULL c or P
// makes it NULL, as the original is NULL then (or true only where a bound is NULL and c is on
// the other side, which the coalesce keeps).
func (a *analyzer) between(e *pg.A_Expr, sc *scope, loc int) error {
	r, ok, err := a.ordRefOf(e.Lexpr, sc)
	if err != nil {
		return err
	}
	bounds := e.Rexpr.GetList().GetItems()
	if !ok || len(bounds) != 2 {
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, "BETWEEN", loc)
	}
	if err := ordCheck(r, "BETWEEN", loc); err != nil {
		return err
	}
	var ts [2]ordTerm
	for i, b := range bounds {
		if ts[i], err = a.ordOperand(r, b, sc, "BETWEEN", loc); err != nil {
			return err
		}
		if err := constComparable(ts[i].o, r.col, betweenOperator(e.Kind), false, loc); err != nil {
			return err
		}
		if !ts[i].null {
			a.addEdit(a.termEdit(ts[i], r.col, ts[i].o.start, ts[i].o.end))
		}
	}
	not := e.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN || e.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM
	if !not {
		a.ordColumn(r, "")
		return nil
	}
	return a.notBetween(r, ts, loc)
}

// notBetween wraps the rewritten NOT BETWEEN and adds the keyset confinement.
func (a *analyzer) notBetween(r ordRef, ts [2]ordTerm, loc int) error {
	x, y := ts[0], ts[1]
	if x.null && y.null {
		a.ordColumn(r, "") // always NULL
		return nil
	}
	if y.null {
		return unsupported(r.col, "NOT BETWEEN with a NULL upper bound", loc)
	}
	if a.tokenAfter(r.end) != "not" || a.tokenBefore(y.o.start) != "and" {
		return unsupported(r.col, "NOT BETWEEN with a parenthesized operand", loc)
	}
	a.ordColumn(r, "((")
	end, p := y.o.end, x
	if x.null || (x.o.kind == opParam && y.o.kind == opLiteral) {
		p = y
	}
	if p.o.kind == opParam && y.o.kind == opParam && p.o.param != y.o.param {
		both := "coalesce($" + itoa(p.o.param) + ", $" + itoa(y.o.param) + ")"
		a.addEdit(Edit{Start: end, End: end, Kind: EditStatic,
			Text: ") AND " + r.expr() + " > " + keysetLow(both) + " AND " + r.expr() + " < " + keysetHigh(both) + ")"})
		return nil
	}
	a.insertTerm(end, ") AND "+r.expr()+" > "+keysetLow("\x00")+" AND "+r.expr()+" < "+keysetHigh("\x00")+")", p, r.col)
	return nil
}

// betweenOperator is the first operator PostgreSQL applies for a BETWEEN form (its errors name
// it): x BETWEEN a AND b is x >= a AND x <= b, NOT BETWEEN is x < a OR x > b.
func betweenOperator(k pg.A_Expr_Kind) string {
	if k == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN || k == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		return "<"
	}
	return ">="
}
