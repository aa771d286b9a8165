package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// likeContext decides, before the walk of statement n, where a LIKE on a match column is exact:
// pgseal's filter must be the last step before the client (docs/search.md §4), so only the
// top-level AND conditions of the WHERE of a plain top-level SELECT (or of a plain EXPLAIN of
// one, which gets the same rewrite without filters: it returns a plan, not rows). Everywhere else
// likeReason names why not.
func (a *analyzer) likeContext(n *pg.Node) {
	switch v := n.GetNode().(type) {
	case *pg.Node_SelectStmt:
		a.likeSelect(v.SelectStmt)
	case *pg.Node_ExplainStmt:
		for _, o := range v.ExplainStmt.Options {
			if d := o.GetDefElem(); d != nil && strings.EqualFold(d.Defname, "analyze") {
				a.likeReason = "under EXPLAIN ANALYZE"
				return
			}
		}
		a.likeContext(v.ExplainStmt.Query)
		a.likeExplain = true
	case *pg.Node_InsertStmt:
		a.likeReason = "in INSERT"
	case *pg.Node_UpdateStmt:
		a.likeReason = "in UPDATE"
	case *pg.Node_DeleteStmt:
		a.likeReason = "in DELETE"
	case *pg.Node_MergeStmt:
		a.likeReason = "in MERGE"
	case *pg.Node_DeclareCursorStmt:
		a.likeReason = "in a cursor (DECLARE)"
	case *pg.Node_CopyStmt:
		a.likeReason = "in COPY"
	default:
		a.likeReason = "in " + nodeName(n)
	}
}

// likeSelect marks the LIKE conditions of a top-level SELECT that pgseal can decide exactly.
func (a *analyzer) likeSelect(s *pg.SelectStmt) {
	if a.likeReason = selectLikeBlock(s); a.likeReason != "" {
		return
	}
	a.likeOK = map[*pg.A_Expr]bool{}
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		if b := n.GetBoolExpr(); b != nil && b.Boolop == pg.BoolExprType_AND_EXPR {
			for _, arg := range b.Args {
				walk(arg)
			}
			return
		}
		if e := n.GetAExpr(); e != nil && isLike(e) {
			a.likeOK[e] = true
		}
	}
	walk(s.WhereClause)
}

// selectLikeBlock names what makes a SELECT's row set differ from its filtered rows.
func selectLikeBlock(s *pg.SelectStmt) string {
	switch {
	case s.Op != pg.SetOperation_SETOP_NONE:
		return "in a set operation (UNION/INTERSECT/EXCEPT)"
	case s.LimitCount != nil:
		return "under LIMIT/FETCH"
	case s.LimitOffset != nil:
		return "under OFFSET"
	case len(s.GroupClause) > 0:
		return "with GROUP BY"
	case s.HavingClause != nil:
		return "with HAVING"
	case len(s.DistinctClause) > 0:
		return "with DISTINCT"
	case len(s.WindowClause) > 0:
		return "with window functions"
	case len(s.LockingClause) > 0:
		return "with FOR UPDATE/SHARE"
	case s.IntoClause != nil:
		return "in SELECT INTO"
	}
	reason := ""
	for _, list := range [][]*pg.Node{s.TargetList, s.SortClause} {
		for _, n := range list {
			levelFuncs(n.ProtoReflect(), func(f *pg.FuncCall) {
				switch {
				case f.Over != nil:
					reason = "with window functions"
				case reason == "" && isAggregate(f):
					reason = "with aggregates"
				}
			})
		}
	}
	return reason
}

// levelFuncs calls visit for every function call of this query level (not inside subqueries).
func levelFuncs(m protoreflect.Message, visit func(*pg.FuncCall)) {
	switch v := m.Interface().(type) {
	case *pg.SubLink, *pg.RangeSubselect, *pg.SelectStmt:
		return
	case *pg.FuncCall:
		visit(v)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				levelFuncs(l.Get(i).Message(), visit)
			}
			return true
		}
		levelFuncs(val.Message(), visit)
		return true
	})
}

// knownAggregates are PostgreSQL's built-in aggregate functions. A user-defined aggregate in a
// SELECT with a LIKE filter fails in PostgreSQL instead: the hidden output is a bare column
// outside any aggregate (42803).
var knownAggregates = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"array_agg": true, "string_agg": true, "bool_and": true, "bool_or": true, "every": true, "json_agg": true,
	"jsonb_agg": true, "json_object_agg": true, "jsonb_object_agg": true, "xmlagg": true, "bit_and": true,
	"bit_or": true, "bit_xor": true, "stddev": true, "stddev_pop": true, "stddev_samp": true, "variance": true,
	"var_pop": true, "var_samp": true, "corr": true, "covar_pop": true, "covar_samp": true, "mode": true,
	"percentile_cont": true, "percentile_disc": true, "range_agg": true, "range_intersect_agg": true,
	"any_value": true, "json_arrayagg": true, "json_objectagg": true}

func isAggregate(f *pg.FuncCall) bool {
	parts := strs(f.Funcname)
	name := parts[len(parts)-1]
	return f.AggStar || f.AggDistinct || len(f.AggOrder) > 0 || f.AggFilter != nil || f.AggWithinGroup ||
		knownAggregates[name] || strings.HasPrefix(name, "regr_")
}

// finishLikes appends the hidden outputs of the statement's LIKE conditions (one per distinct
// column reference) at the end of the select list and records the filters.
func (a *analyzer) finishLikes(s *pg.SelectStmt, res *result, pos int) error {
	if len(a.likes) == 0 {
		return nil
	}
	c := a.likes[0].filter.Column
	if s == nil || res == nil || len(s.TargetList) == 0 {
		return unsupported(c, "LIKE in a query without a select list", pos)
	}
	for _, oc := range res.cols {
		if oc.unknownWidth {
			return unsupported(c, "LIKE after * of a table whose columns pgseal does not know", pos)
		}
	}
	from, ok := a.fromKeyword(s)
	if !ok {
		return unsupported(c, "LIKE in a query whose FROM clause pgseal cannot locate", pos)
	}
	// The hidden outputs would make a position past the select list valid; PostgreSQL rejects it.
	for _, n := range s.SortClause {
		if sb := n.GetSortBy(); sb != nil {
			if k, ok := intConst(sb.Node); ok && k > len(res.cols) {
				return unsupportedf(nodeLoc(sb.Node, pos), "ORDER BY position %d is not in select list", k)
			}
		}
	}
	hidden := map[string]int{}
	text := ""
	for _, l := range a.likes {
		p, seen := hidden[l.ref]
		if !seen {
			if p = a.visibleRef(res, l); p < 0 {
				p = len(res.cols) + a.stmt.Hidden
				a.stmt.Hidden++
				text += ", " + l.ref
			}
			hidden[l.ref] = p
		}
		l.filter.Position = p
		a.stmt.Filters = append(a.stmt.Filters, l.filter)
	}
	if text != "" {
		a.addEdit(Edit{Start: from, End: from, Kind: EditStatic, Text: text})
	}
	return nil
}

// visibleRef is the position of a select-list item that is the LIKE's own column reference,
// written the same way in the same query level, or the column of that name that `*` expanded
// from the FROM item the reference names (so, either way, the same column of the same row), or
// -1: the filter then reads that output and needs no hidden one.
func (a *analyzer) visibleRef(res *result, l pendingLike) int {
	for i, oc := range res.cols {
		if oc.col == l.filter.Column && oc.refEnd > oc.refStart && a.sql[oc.refStart:oc.refEnd] == l.ref {
			return i
		}
		if oc.col == l.filter.Column && oc.from != nil && oc.from == l.rel && oc.name == l.name {
			return i
		}
	}
	return -1
}

// fromKeyword finds the end of the select list of s (the end of the token before its FROM).
func (a *analyzer) fromKeyword(s *pg.SelectStmt) (int, bool) {
	last := s.TargetList[len(s.TargetList)-1].GetResTarget()
	if last == nil {
		return 0, false
	}
	t := a.tokens()
	depth := 0
	for i := t.at(int(last.Location)); i >= 0 && i < len(t.toks); i++ {
		switch {
		case t.text(i) == "(" || t.text(i) == "[":
			depth++
		case t.text(i) == ")" || t.text(i) == "]":
			depth--
		case depth == 0 && t.toks[i].Token == pg.Token_FROM:
			// After the last token of the select list, not inside a comment before FROM.
			j := i - 1
			for j >= 0 && isComment(t.toks[j]) {
				j--
			}
			return t.end(j), j >= 0
		}
	}
	return 0, false
}

func isComment(tok *pg.ScanToken) bool {
	return tok.Token == pg.Token_SQL_COMMENT || tok.Token == pg.Token_C_COMMENT
}
