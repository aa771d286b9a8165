package rewrite

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// Search-term layout (docs/search.md §1): the 4-byte directory of the order term and the match
// tokens starts at 0-based offset termBase of the envelope.
func termBase(eq bool) int {
	if eq {
		return 39
	}
	return 23
}

// OrdExpr is the one canonical SQL expression for a column's order term (docs/search.md §1); eq
// says whether the column's envelopes carry an equality term (Column.Eq). The order index must be
// created with exactly this expression.
func OrdExpr(colRef string, eq bool) string {
	b := termBase(eq)
	return fmt.Sprintf("CASE WHEN get_byte(%[1]s, 2) & 2 = 2 THEN substring(%[1]s from %[2]d for "+
		"get_byte(%[1]s, %[3]d)*256 + get_byte(%[1]s, %[4]d)) END", colRef, b+5, b, b+1)
}

// MatchExpr is the one canonical SQL expression for a column's match tokens, a text[]
// (docs/search.md §1); the GIN match index must be created with exactly this expression.
func MatchExpr(colRef string, eq bool) string {
	b := termBase(eq)
	return fmt.Sprintf("CASE WHEN get_byte(%[1]s, 2) & 4 = 4 THEN string_to_array(encode(substring(%[1]s from "+
		"%[2]d + get_byte(%[1]s, %[3]d)*256 + get_byte(%[1]s, %[4]d) for get_byte(%[1]s, %[5]d)*256 + "+
		"get_byte(%[1]s, %[6]d)), 'escape'), ' ') END", colRef, b+5, b, b+1, b+2, b+3)
}

// Keyset bounds of an order comparison (docs/search.md §4): the 17-byte prefix of every term of
// the session's keyset (keyset id ‖ 0x01) is below all of them, the keyset id ‖ 0x02 above.
func keysetLow(term string) string { return "substring(" + term + " from 1 for 17)" }
func keysetHigh(term string) string {
	return "substring(" + term + " from 1 for 16) || decode('02', 'hex')"
}

// ordRef is an encrypted column with order search used by an order construct: a bare reference,
// possibly with COLLATE "C" (which the rewrite drops: order terms sort by bytes).
type ordRef struct {
	col        *Column
	start, end int    // span to replace: the reference and any COLLATE clause
	ref        string // the reference as written
	collateC   bool
}

func (r ordRef) expr() string { return OrdExpr(r.ref, r.col.Eq) }

// ordRefOf recognises an order-searchable column; ok is false for anything else (including an
// encrypted column without order search, which the callers refuse as before).
func (a *analyzer) ordRefOf(n *pg.Node, sc *scope) (ordRef, bool, error) {
	arg, cc := n, n.GetCollateClause()
	if cc != nil {
		arg = cc.Arg
	}
	c, ok, err := a.bareEncrypted(arg, sc)
	if err != nil || !ok || !c.Ord {
		return ordRef{}, false, err
	}
	cr := arg.GetColumnRef()
	start := int(cr.Location)
	end, found := a.tokens().colRefEnd(start, len(cr.Fields))
	if !found {
		return ordRef{}, false, unsupportedf(start, "cannot locate a column reference to rewrite")
	}
	r := ordRef{col: c, start: start, end: end, ref: a.sql[start:end]}
	if cc != nil {
		if !isTextType(c) {
			return ordRef{}, false, unsupported(c, "COLLATE on its "+c.Type+" values", int(cc.Location))
		}
		if end, found = a.collateEnd(end, strs(cc.Collname)); !found {
			return ordRef{}, false, unsupported(c, `COLLATE other than "C"`, int(cc.Location))
		}
		r.end, r.collateC = end, true
	}
	return r, true, nil
}

// collateEnd checks that `COLLATE "C"` (or pg_catalog."C") follows off and returns its end.
func (a *analyzer) collateEnd(off int, names []string) (int, bool) {
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	if len(names) != 1 || names[0] != "C" {
		return 0, false
	}
	t := a.tokens()
	i := t.at(nextTokenStart(t, off))
	if i < 0 || t.lower(i) != "collate" {
		return 0, false
	}
	i++
	if t.lower(i) == "pg_catalog" && t.text(i+1) == "." {
		i += 2
	}
	if id, ok := t.ident(i); !ok || id != "C" {
		return 0, false
	}
	return t.end(i), true
}

// ordCheck refuses order constructs on a column whose terms are incomplete, and on a text
// column that orders by its collation (neither text_order = "bytes" nor COLLATE "C").
func ordCheck(r ordRef, construct string, loc int) error {
	c := r.col
	if !c.OrdReady {
		return unsupportedf(loc, "column %s is encrypted: %s needs its order terms, but the order terms of %s are incomplete; run proxy reindex",
			c.display(), construct, c.display())
	}
	if isTextType(c) && !c.ByteOrder && !r.collateC {
		return unsupported(c, construct+` under its collation (order terms sort by bytes: configure text_order = "bytes" or write COLLATE "C")`, loc)
	}
	return nil
}

func isTextType(c *Column) bool {
	t := canonicalType(c.Type)
	return t == "text" || t == "varchar"
}

// ordColumn replaces the reference (and any COLLATE "C") by the order term; pre is put before it.
func (a *analyzer) ordColumn(r ordRef, pre string) {
	a.stmt.Touches = true
	a.addEdit(Edit{Start: r.start, End: r.end, Kind: EditStatic, Text: pre + r.expr()})
	a.stmt.Terms = true
}

// tokenBefore returns the lower-case text of the last token ending at or before off.
func (a *analyzer) tokenBefore(off int) string {
	t := a.tokens()
	for i := len(t.toks) - 1; i >= 0; i-- {
		if t.end(i) <= off {
			return t.lower(i)
		}
	}
	return ""
}

// tokenAfter returns the lower-case text of the first token starting at or after off.
func (a *analyzer) tokenAfter(off int) string {
	t := a.tokens()
	return t.lower(t.at(nextTokenStart(t, off)))
}
