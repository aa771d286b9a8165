package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// ordTerm is the other side of an order comparison: a literal (its term is an EditOrd), a
// parameter (ParamOrd) or NULL.
type ordTerm struct {
	o    operand
	null bool
}

// ordCompare rewrites `c < x`, `c <= x`, `c > x`, `c >= x` (either side) for an order-searchable
// column, and `a < b` for two of one domain (docs/search.md §4).
func (a *analyzer) ordCompare(e *pg.A_Expr, op string, sc *scope, loc int) error {
	l, lok, err := a.ordRefOf(e.Lexpr, sc)
	if err != nil {
		return err
	}
	r, rok, err := a.ordRefOf(e.Rexpr, sc)
	if err != nil {
		return err
	}
	switch {
	case !lok && !rok:
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, "operator "+op, loc)
	case lok && rok:
		return a.ordColumns(l, r, op, loc)
	case lok:
		return a.ordWith(l, e.Rexpr, op, false, sc, loc)
	}
	return a.ordWith(r, e.Lexpr, op, true, sc, loc)
}

// ordColumns compares the order terms of two columns of one domain.
func (a *analyzer) ordColumns(l, r ordRef, op string, loc int) error {
	for _, x := range []ordRef{l, r} {
		if err := ordCheck(x, "operator "+op, loc); err != nil {
			return err
		}
	}
	if l.col.domain() != r.col.domain() {
		return unsupported(l.col, "comparing it with "+r.col.display()+" by "+op+" (needs order search on both in one domain)", loc)
	}
	a.ordColumn(l, "")
	a.ordColumn(r, "")
	return nil
}

// ordWith rewrites a comparison of r with a constant or parameter to
// `(ord(c) op T AND ord(c) > keysetLow(T))` (c below x) or `… AND ord(c) < keysetHigh(T))`
// (c above x or equal to it), with both bounds for <>. flipped: the column is the right operand.
func (a *analyzer) ordWith(r ordRef, other *pg.Node, op string, flipped bool, sc *scope, loc int) error {
	construct := "operator " + op
	t, sp, done, err := a.ordSides(r, other, construct, op, flipped, sc, loc)
	if err != nil || done {
		return err
	}
	// The comparison is wrapped in parentheses: its operands must be exactly the spans (no
	// parentheses of their own), so the text between them must be the operator alone.
	if !spelled(a.tokenAfter(sp[1]), op) || !spelled(a.tokenBefore(sp[2]), op) {
		return unsupported(r.col, construct+" with a parenthesized operand", loc)
	}
	below := op == "<" || op == "<="
	if flipped {
		below = !below
	}
	bound := " > " + keysetLow("\x00")
	switch {
	case op == "<>": // every other term of the keyset, not those of other keysets
		bound += " AND " + r.expr() + " < " + keysetHigh("\x00")
	case !below:
		bound = " < " + keysetHigh("\x00")
	}
	a.ordOpen(r, t, sp, flipped)
	a.insertTerm(sp[3], " AND "+r.expr()+bound+")", t, r.col)
	return nil
}

// ordSides checks r for construct and classifies x, the constant or parameter compared with it
// (ordOperand; constComparable under PostgreSQL's operator sqlOp). sp holds the operands' spans
// as written: left start and end, right start and end. done: x is NULL, and the column's order
// term in its place is the whole rewrite.
func (a *analyzer) ordSides(r ordRef, x *pg.Node, construct, sqlOp string, flipped bool, sc *scope, loc int) (t ordTerm, sp [4]int, done bool, err error) {
	if err = ordCheck(r, construct, loc); err != nil {
		return t, sp, false, err
	}
	if t, err = a.ordOperand(r, x, sc, construct, loc); err != nil {
		return t, sp, false, err
	}
	if e := constComparable(t.o, r.col, sqlOp, flipped, loc); e != nil { // a *Error: no typed nil in err
		return t, sp, false, e
	}
	if t.null {
		a.ordColumn(r, "")
		return t, sp, true, nil
	}
	sp = [4]int{r.start, r.end, t.o.start, t.o.end}
	if flipped {
		sp = [4]int{t.o.start, t.o.end, r.start, r.end}
	}
	return t, sp, false, nil
}

// ordOpen opens a wrapped comparison: '(' before the left operand, then the column's order term
// and the value's term in their spans. The caller closes it after sp[3].
func (a *analyzer) ordOpen(r ordRef, t ordTerm, sp [4]int, flipped bool) {
	if flipped {
		a.addEdit(Edit{Start: sp[0], End: sp[0], Kind: EditStatic, Text: "("})
		a.addEdit(a.termEdit(t, r.col, sp[0], sp[1]))
		a.ordColumn(r, "")
		return
	}
	a.ordColumn(r, "(")
	a.addEdit(a.termEdit(t, r.col, sp[2], sp[3]))
}

// ordInList rewrites `c IN (a, b, …)` for a column that ordEqual accepts to
// `ord(c) IN (Ta, Tb, …)`. No keyset bound is needed: every term of the list carries the
// session's keyset, so no other keyset's term equals one. `c NOT IN (…)` gets both bounds of
// the first item's term, as `<>` does (ordWith), so that it too is confined to the keyset.
// An item's value is converted as an item of an eq column's list is (Param.InList,
// Edit.InList).
func (a *analyzer) ordInList(e *pg.A_Expr, op string, items []*pg.Node, sc *scope, loc int) error {
	what := construct(op, "IN")
	r, err := a.ordRefFor(e.Lexpr, sc, what, loc)
	if err != nil {
		return err
	}
	a.inListArray, a.inListOp = len(items) > 1, op
	defer func() { a.inListArray, a.inListOp = false, "" }()
	first, err := a.ordItems(r, items, what, op, sc, loc)
	if err != nil {
		return err
	}
	switch {
	case first == nil: // only NULLs: the column is compared with NULL as it is
		return nil
	case op == "=":
		a.ordColumn(r, "")
		return nil
	}
	end, ok := a.listEnd(r.end)
	if !ok {
		return unsupported(r.col, what+" written in a form pgseal cannot rewrite", loc)
	}
	a.ordColumn(r, "(")
	a.insertTerm(end, " AND "+r.expr()+" > "+keysetLow("\x00")+" AND "+r.expr()+" < "+keysetHigh("\x00")+")", *first, r.col)
	return nil
}

// listEnd returns where the list of `… NOT IN (…)` ends (after its ')'), the column reference
// ending at off.
func (a *analyzer) listEnd(off int) (int, bool) {
	t := a.tokens()
	i := t.at(nextTokenStart(t, off))
	if i < 0 || t.lower(i) != "not" || t.lower(i+1) != "in" || t.text(i+2) != "(" {
		return 0, false
	}
	j := t.closeParen(i + 2)
	if j < 0 {
		return 0, false
	}
	return t.end(j), true
}

// ordDistinct rewrites `c IS NOT DISTINCT FROM x` to `(ord(c) IS NOT DISTINCT FROM T)`, which
// needs no bound (equal terms are of one keyset; NULL is not distinct from NULL), and
// `c IS DISTINCT FROM x` to `(ord(c) IS DISTINCT FROM T AND (T IS NULL OR ord(c) IS NULL OR
// (ord(c) > keysetLow(T) AND ord(c) < keysetHigh(T))))`: confined to the session's keyset like
// <>, except where no keyset is involved (a NULL x, which a parameter may be, leaves
// `c IS NOT NULL`; a NULL c is distinct from any x).
func (a *analyzer) ordDistinct(r ordRef, other *pg.Node, op string, flipped bool, sc *scope, loc int) error {
	t, sp, done, err := a.ordSides(r, other, op, "=", flipped, sc, loc)
	if err != nil || done {
		return err
	}
	// As in ordWith: the operands must be exactly the spans, the operator alone between them.
	if a.tokenAfter(sp[1]) != "is" || a.tokenBefore(sp[2]) != "from" {
		return unsupported(r.col, op+" with a parenthesized operand", loc)
	}
	a.ordOpen(r, t, sp, flipped)
	if op == "IS NOT DISTINCT FROM" {
		a.addEdit(Edit{Start: sp[3], End: sp[3], Kind: EditStatic, Text: ")"})
		return nil
	}
	x := r.expr()
	a.insertTerm(sp[3], " AND (\x00 IS NULL OR "+x+" IS NULL OR ("+x+" > "+keysetLow("\x00")+" AND "+x+" < "+keysetHigh("\x00")+")))", t, r.col)
	return nil
}

// ordAnyArray rewrites `c = ANY(…)` for a column that ordEqual accepts to
// `ord(c) = ANY(…)`, its array one of order terms: ARRAY[…] element by element, an array literal
// (EditTermArray) or a parameter (ParamTermArray) with Ord set. Like IN it needs no bound. `<>
// ALL` is refused: an empty array makes it true for every row, where a bound from an element
// would be NULL.
func (a *analyzer) ordAnyArray(e *pg.A_Expr, c *Column, sc *scope, loc int) error {
	r, err := a.ordRefFor(e.Lexpr, sc, "= ANY", loc)
	if err != nil {
		return err
	}
	if arr := e.Rexpr.GetAArrayExpr(); arr != nil {
		if _, err := a.ordItems(r, arr.Elements, "= ANY", "=", sc, loc); err != nil {
			return err
		}
		a.ordColumn(r, "")
		return nil
	}
	if lit, ok, err := a.arrayLiteral(e.Rexpr, c); err != nil || ok {
		if err != nil || lit.kind == opNull {
			return err // = ANY(NULL) matches nothing, whatever the column holds
		}
		a.addEdit(Edit{Start: lit.start, End: lit.end, Kind: EditTermArray, Literal: lit.literal, Column: c, Ord: true})
		a.ordColumn(r, "")
		return nil
	}
	o, err := a.classifyArray(e.Rexpr, c)
	if err != nil {
		return err
	}
	if o.kind != opParam {
		return unsupported(c, "= ANY with something other than a parameter, an array literal or ARRAY[…]", loc)
	}
	if err := a.paramAs(o, Param{Kind: ParamTermArray, Column: c, Ord: true}); err != nil {
		return err
	}
	a.ordColumn(r, "")
	return nil
}

// ordRefFor is ordRefOf for the column of an equality construct (what) that ordEqual accepted,
// checked for the construct (ordCheck). Not finding it cannot happen, but the construct is then
// refused rather than passed through.
func (a *analyzer) ordRefFor(n *pg.Node, sc *scope, what string, loc int) (ordRef, error) {
	r, ok, err := a.ordRefOf(n, sc)
	switch {
	case err != nil:
		return r, err
	case !ok:
		return r, unsupportedf(loc, "cannot rewrite %s on an encrypted column", what)
	}
	return r, ordCheck(r, what, loc)
}

// ordItems puts in place of each item of an IN list or ARRAY[…] compared with r (by
// PostgreSQL's operator sqlOp) the order term of its value, and returns the first non-NULL
// item's term (nil when every item is NULL).
func (a *analyzer) ordItems(r ordRef, items []*pg.Node, what, sqlOp string, sc *scope, loc int) (*ordTerm, error) {
	var first *ordTerm
	for _, item := range items {
		t, err := a.ordOperand(r, item, sc, what, loc)
		if err != nil {
			return nil, err
		}
		if t.null {
			continue
		}
		if e := constComparable(t.o, r.col, sqlOp, false, loc); e != nil { // a *Error
			return nil, e
		}
		a.addEdit(a.termEdit(t, r.col, t.o.start, t.o.end))
		if first == nil {
			first = &t
		}
	}
	return first, nil
}

// spelled reports whether tok is operator op as written: the parser reads != as <>.
func spelled(tok, op string) bool {
	return tok == op || op == "<>" && tok == "!="
}

// ordOperand classifies a constant or parameter compared with r by an order construct and
// records what its value becomes (ParamOrd; the caller places the EditOrd).
func (a *analyzer) ordOperand(r ordRef, n *pg.Node, sc *scope, construct string, loc int) (ordTerm, error) {
	c := r.col
	o, err := a.classify(n, sc, c)
	if err != nil {
		return ordTerm{}, err
	}
	switch o.kind {
	case opNull:
		a.dropNullCast(o)
		return ordTerm{null: true}, nil
	case opColumn:
		return ordTerm{}, unsupported(c, construct+" with "+o.col.display()+" (needs order search on both in one domain)", loc)
	case opParam, opLiteral:
	default:
		return ordTerm{}, unsupported(c, construct+" with an expression that is not a constant or parameter", loc)
	}
	if !comparable(o.from, c) {
		return ordTerm{}, unsupported(c, construct+" with a value cast to "+o.from+" (its plaintext type is "+c.Type+")", loc)
	}
	if o.kind == opParam {
		if err := a.useParam(o.param, Param{Kind: ParamOrd, Column: c, Cast: o.from, CastLen: o.castLen, InList: a.inListArray}, o.start); err != nil {
			return ordTerm{}, err
		}
		return ordTerm{o: o}, nil
	}
	a.float4AsFloat8(&o, c)
	a.numericOnInt(&o, c)
	if o.from == "" {
		o.from = integerConstType(o, c)
	}
	return ordTerm{o: o}, nil
}

// termEdit is the edit that puts t's term at [start, end): an EditOrd for a literal, the bare
// parameter (any cast removed, so that PostgreSQL infers bytea) for a parameter.
func (a *analyzer) termEdit(t ordTerm, c *Column, start, end int) Edit {
	if t.o.kind == opParam {
		return Edit{Start: start, End: end, Kind: EditStatic, Text: "$" + itoa(t.o.param)}
	}
	return Edit{Start: start, End: end, Kind: EditOrd, Literal: t.o.literal, Cast: t.o.from, CastLen: t.o.castLen, Numeric: t.o.numeric, Column: c, InList: a.inListArray}
}

// insertTerm inserts text at off with every NUL byte in it replaced by t's term (a second EditOrd
// of the literal, or the parameter).
func (a *analyzer) insertTerm(off int, text string, t ordTerm, c *Column) {
	for {
		i := indexNUL(text)
		if i < 0 {
			break
		}
		if i > 0 {
			a.addEdit(Edit{Start: off, End: off, Kind: EditStatic, Text: text[:i]})
		}
		a.addEdit(a.termEdit(t, c, off, off))
		text = text[i+1:]
	}
	if text != "" {
		a.addEdit(Edit{Start: off, End: off, Kind: EditStatic, Text: text})
	}
}

func indexNUL(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}
