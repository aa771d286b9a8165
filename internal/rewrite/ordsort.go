package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// ordSort rewrites one ORDER BY item (of a query, a window definition or an aggregate) that is
// an order-searchable column to ORDER BY its order term; ASC/DESC, NULLS and USING … stay where
// they are. An output position or output name that is a bare such column becomes the order term
// of the reference written in the select list. done is false for anything else (sortLike
// decides, refusing encrypted columns as before).
func (a *analyzer) ordSort(n *pg.Node, sc *scope, res *result, pos int) (done bool, err error) {
	if k, ok := intConst(n); ok && res != nil && k >= 1 && k <= len(res.cols) {
		a.plan.valueDep = true // ORDER BY 2: the constant's value decides
		return a.ordSortOutput(n, res.cols[k-1], "", sc, pos)
	}
	if name, ok := bareName(n); ok && res != nil {
		var match *outCol
		for i := range res.cols {
			if oc := &res.cols[i]; oc.name == name && !oc.unknownWidth {
				if match != nil && (oc.col != nil || match.col != nil) {
					return false, nil // ambiguous: sortLike refuses (or PostgreSQL does)
				}
				match = oc
			}
		}
		if match != nil {
			return a.ordSortOutput(n, *match, name, sc, pos)
		}
	}
	r, ok, err := a.ordRefOf(n, sc)
	if err != nil || !ok {
		return false, err
	}
	if err := ordCheck(r, "ORDER BY", nodeLoc(n, pos)); err != nil {
		return false, err
	}
	a.ordColumn(r, "")
	return true, nil
}

// ordSortOutput rewrites an ORDER BY item n that names output column oc (by position, or by
// name when name != ""). The reference of the select list is used; for an output of `*` (no
// reference), the bare name itself when it denotes that column in the FROM list of this level.
func (a *analyzer) ordSortOutput(n *pg.Node, oc outCol, name string, sc *scope, pos int) (bool, error) {
	c := oc.col
	if c == nil || !c.Ord {
		return false, nil
	}
	loc := nodeLoc(n, pos)
	ref := ""
	switch {
	case oc.refStart >= 0:
		ref = a.sql[oc.refStart:oc.refEnd]
	case name != "":
		if !uniqueInput(sc, name, c) {
			return false, unsupported(c, "ORDER BY an output name pgseal cannot tie to one column", loc)
		}
	case oc.name != "" && uniqueInput(sc, oc.name, c):
		ref = `"` + strings.ReplaceAll(oc.name, `"`, `""`) + `"` // an output of *
	default:
		return false, unsupported(c, "ORDER BY the position of an output that is not a bare column reference", loc)
	}
	r := ordRef{col: c, start: loc}
	if name != "" {
		cr := n.GetColumnRef()
		a.see(cr)
		end, ok := a.tokens().colRefEnd(loc, len(cr.Fields))
		if !ok {
			return false, unsupportedf(loc, "cannot locate a column reference to rewrite")
		}
		r.end = end
		if ref == "" {
			ref = a.sql[loc:end]
		}
	} else if r.end, _ = a.tokens().constEnd(loc); r.end <= loc {
		return false, unsupportedf(loc, "cannot locate an ORDER BY position to rewrite")
	}
	r.ref = ref
	if err := ordCheck(r, "ORDER BY", loc); err != nil {
		return false, err
	}
	a.ordColumn(r, "")
	return true, nil
}

// uniqueInput reports whether the bare name, as a column of the FROM list of this query level,
// is exactly c in one relation (so that ord(name) sorts by that output of `*`).
func uniqueInput(sc *scope, name string, c *Column) bool {
	if sc == nil {
		return false
	}
	hits := 0
	for _, r := range sc.rels {
		if r.res == nil && r.enc == nil {
			return false // a relation of unknown shape may have such a column too
		}
		if got, found := r.lookupCol(name); found {
			hits++
			if !sameColumn(got, c) {
				return false
			}
		}
	}
	return hits == 1
}

// minMax rewrites a select-list item min(c) / max(c) of an order-searchable column to the
// envelope of the least or greatest value (docs/search.md §4); the output carries c's ciphertext.
// ok is false for any other call. Without an alias of its own (unnamed) the item is named as
// PostgreSQL names it, min or max, not after the array_agg that replaces it.
func (a *analyzer) minMax(f *pg.FuncCall, unnamed bool, sc *scope, pos int) (c *Column, ok bool, err error) {
	parts := strs(f.Funcname)
	if len(parts) != 1 || (parts[0] != "min" && parts[0] != "max") || len(f.Args) != 1 || f.AggStar ||
		f.AggDistinct || len(f.AggOrder) > 0 || f.AggFilter != nil || f.Over != nil || f.AggWithinGroup || f.FuncVariadic {
		return nil, false, nil
	}
	r, ok, err := a.ordRefOf(f.Args[0], sc)
	if err != nil || !ok {
		return nil, false, err
	}
	loc := int(f.Location)
	if err := ordCheck(r, "function "+parts[0]+"()", loc); err != nil {
		return nil, false, err
	}
	t := a.tokens()
	i := t.at(loc)
	j := t.closeParen(i + 1)
	if i < 0 || j < 0 || t.lower(i) != parts[0] {
		return nil, false, unsupportedf(loc, "cannot locate a function call to rewrite")
	}
	dir, alias := "", ""
	if parts[0] == "max" {
		dir = " DESC"
	}
	if unnamed {
		alias = " AS " + parts[0]
	}
	a.stmt.Touches = true
	// Only the session keyset's values take part: terms of other keysets sort by their keyset id,
	// and their envelopes could not be opened (docs/search.md §4).
	a.addEdit(Edit{Start: loc, End: t.end(j), Kind: EditKeyset, Column: r.col, Text: "(array_agg(" + r.ref + " ORDER BY " + r.expr() + dir +
		") FILTER (WHERE substring(" + r.ref + " from 4 for 16) = " + KeysetPlaceholder + "))[1]" + alias})
	return r.col, true, nil
}
