package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// pendingLike is a LIKE-family condition rewritten to its match-token prefilter whose exact
// Filter pgseal applies after decryption; its hidden output is placed by finishLikes.
type pendingLike struct {
	ref    string // the column reference as written (the hidden output repeats it)
	filter Filter
	rel    *rel   // the FROM item ref names (relOf), or nil
	name   string // the column name ref ends with
}

// likeOps are the tokens that may stand between the column and the pattern of a LIKE.
var likeOps = map[string]bool{"not": true, "like": true, "ilike": true, "~~": true, "!~~": true, "~~*": true, "!~~*": true}

// like rewrites `c [NOT] LIKE|ILIKE p [ESCAPE 'x']` on a match-searchable text column where it is
// exact (a top-level AND condition of the WHERE of a plain top-level SELECT, matchctx.go):
// LIKE/ILIKE to `(match(c) @> P)`, the NOT forms to `(c IS NOT NULL AND P IS NOT NULL)`, with P
// the pattern's token array (EditMatch, or `$n::text[]` for ParamMatch). pgseal decides each row
// exactly (Statement.Filters) from the hidden output of c.
func (a *analyzer) like(e *pg.A_Expr, op string, sc *scope, loc int) error {
	name := aExprName(e.Kind, op)
	c, ok, err := a.bareEncrypted(e.Lexpr, sc)
	if err != nil {
		return err
	}
	if !ok || !c.Match || !isTextType(c) {
		return a.exprs([]*pg.Node{e.Lexpr, e.Rexpr}, sc, name, loc)
	}
	if !c.MatchReady {
		return unsupportedf(loc, "column %s is encrypted: %s needs its match tokens, but the match tokens of %s are incomplete; run proxy reindex",
			c.display(), name, c.display())
	}
	if !a.likeOK[e] {
		reason := a.likeReason
		if reason == "" {
			reason = "outside the top-level AND conditions of a SELECT's WHERE (OR, NOT, CASE, ON, HAVING, a subquery or a CTE)"
		}
		return unsupported(c, name+" "+reason, loc)
	}
	f := Filter{Column: c, ILike: op == "~~*" || op == "!~~*", Not: op == "!~~" || op == "!~~*"}
	pat, escEnd, err := a.likeEscape(e.Rexpr, c, name, &f, loc)
	if err != nil {
		return err
	}
	o, err := a.classify(pat, sc, c)
	if err != nil {
		return err
	}
	return a.likeRewrite(e, c, o, escEnd, f, name, sc, loc)
}

// likeEscape unwraps `p ESCAPE 'x'` (pg_query: like_escape(p, 'x')) and returns the pattern and
// where the ESCAPE clause ends (0 without one).
func (a *analyzer) likeEscape(n *pg.Node, c *Column, name string, f *Filter, loc int) (*pg.Node, int, error) {
	fc := n.GetFuncCall()
	if fc == nil {
		return n, 0, nil
	}
	parts := strs(fc.Funcname)
	if parts[len(parts)-1] != "like_escape" || len(fc.Args) != 2 {
		return n, 0, nil
	}
	k := fc.Args[1].GetAConst()
	if k == nil || k.GetSval() == nil {
		return nil, 0, unsupported(c, name+" with an ESCAPE that is not a constant string", loc)
	}
	esc := k.GetSval().Sval
	if esc == "" {
		f.NoEscape = true
	} else {
		f.Escape = esc
	}
	end, ok := a.tokens().constEnd(int(k.Location))
	if !ok || a.tokenBefore(int(k.Location)) != "escape" {
		return nil, 0, unsupportedf(loc, "cannot locate an ESCAPE clause to rewrite")
	}
	return fc.Args[0], end, nil
}

// likeRewrite writes the edits of one LIKE condition and records its filter.
func (a *analyzer) likeRewrite(e *pg.A_Expr, c *Column, o operand, escEnd int, f Filter, name string, sc *scope, loc int) error {
	switch o.kind {
	case opNull:
		if escEnd > 0 {
			return unsupported(c, name+" NULL with ESCAPE", loc)
		}
		a.dropNullCast(o) // NULL: no row matches, nothing to decide
		return nil
	case opParam, opLiteral:
	default:
		return unsupported(c, name+" with a pattern that is not a constant or parameter", loc)
	}
	if o.castLen > 0 || (o.from != "" && !isTextFamily(o.from)) {
		return unsupported(c, name+" with a pattern cast to "+o.from, loc)
	}
	cr := e.Lexpr.GetColumnRef()
	start := int(cr.Location)
	colEnd, ok := a.tokens().colRefEnd(start, len(cr.Fields))
	if !ok || !a.onlyTokens(colEnd, o.start, likeOps) {
		return unsupported(c, name+" with a parenthesized operand", loc)
	}
	ref := a.sql[start:colEnd]
	if o.kind == opParam {
		if err := a.likeParam(o, c, &f); err != nil {
			return err
		}
	} else {
		f.Pattern = o.literal
	}
	a.likeEdits(c, o, f, ref, start, colEnd, escEnd)
	a.plan.valueDep = true // the filter holds the pattern and the escape
	if !a.likeExplain {
		fields := strs(cr.Fields)
		a.likes = append(a.likes, pendingLike{ref: ref, filter: f, rel: relOf(sc, fields), name: fields[len(fields)-1]})
	}
	return nil
}

// likeEdits writes one LIKE condition on ref (SQL[start:colEnd]) with pattern o, which ends at
// escEnd with its ESCAPE clause (0: none). LIKE becomes
// (match(ref) @> (P)[2:] AND substring(ref from 4 for 16) = decode(substring((P)[1] from 2), 'hex')):
// the GIN index serves the trigram tokens alone, because the keyset token (P's first element,
// present in every row of the keyset) would make it read the keyset's whole posting list; the
// keyset is checked on the header of the few candidate rows instead. NOT LIKE becomes
// (ref IS NOT NULL AND P IS NOT NULL). P is the parameter, or the literal's EditMatch.
func (a *analyzer) likeEdits(c *Column, o operand, f Filter, ref string, start, colEnd, escEnd int) {
	pattern := func(start, end int) {
		if o.kind == opParam {
			a.addEdit(Edit{Start: start, End: end, Kind: EditStatic, Text: "$" + itoa(o.param) + "::text[]"})
		} else {
			a.addEdit(Edit{Start: start, End: end, Kind: EditMatch, Literal: o.literal, Column: c,
				Not: f.Not, Escape: f.Escape, NoEscape: f.NoEscape})
		}
	}
	tail := ")[1] from 2), 'hex'))"
	if f.Not {
		a.addEdit(Edit{Start: start, End: colEnd, Kind: EditStatic, Text: "(" + ref})
		a.addEdit(Edit{Start: colEnd, End: o.start, Kind: EditStatic, Text: " IS NOT NULL AND "})
		pattern(o.start, o.end)
		tail = " IS NOT NULL)"
	} else {
		a.addEdit(Edit{Start: start, End: colEnd, Kind: EditStatic, Text: "(" + MatchExpr(ref, c.Eq)})
		a.stmt.Terms = true
		a.addEdit(Edit{Start: colEnd, End: o.start, Kind: EditStatic, Text: " @> ("})
		pattern(o.start, o.end)
		a.addEdit(Edit{Start: o.end, End: o.end, Kind: EditStatic,
			Text: ")[2:] AND substring(" + ref + " from 4 for 16) = decode(substring(("})
		pattern(o.end, o.end)
	}
	a.addEdit(Edit{Start: o.end, End: max(o.end, escEnd), Kind: EditStatic, Text: tail})
}

// likeParam records $n as a ParamMatch; one parameter serves one LIKE condition only (the wire
// finds its NOT and ESCAPE in the filter that names it).
func (a *analyzer) likeParam(o operand, c *Column, f *Filter) error {
	if _, used := a.params[o.param]; used {
		return unsupported(c, "using parameter $"+itoa(o.param)+" for two purposes", o.start)
	}
	f.Param = o.param
	return a.useParam(o.param, Param{Kind: ParamMatch, Column: c, Cast: o.from}, o.start)
}

// isLike reports the LIKE family: A_Expr kind LIKE/ILIKE, or the operators written as such.
func isLike(e *pg.A_Expr) bool {
	name := strs(e.Name)
	if len(name) != 1 {
		return false
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE, pg.A_Expr_Kind_AEXPR_OP:
		switch name[0] {
		case "~~", "!~~", "~~*", "!~~*":
			return true
		}
	}
	return false
}

func isTextFamily(t string) bool { return t == "text" || t == "varchar" }

// onlyTokens reports whether every token in [from, to) is one of words (lower case), and there is one.
func (a *analyzer) onlyTokens(from, to int, words map[string]bool) bool {
	t := a.tokens()
	n := 0
	for i := range t.toks {
		if s, e := int(t.toks[i].Start), t.end(i); s >= from && e <= to {
			if !words[t.lower(i)] {
				return false
			}
			n++
		}
	}
	return n > 0
}
