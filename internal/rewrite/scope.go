package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// result is the shape of a query's output row.
type result struct {
	cols []outCol
}

// outCol is one result column.
type outCol struct {
	name         string
	col          *Column // the encrypted column whose value it carries unchanged, or nil
	unknownWidth bool    // `*` of a relation of unknown shape: any number of plaintext columns
	isNull       bool    // a NULL constant (fits any column in UNION ALL)
	refStart     int     // span of the bare column reference, when col != nil and known
	refEnd       int
	from         *rel // the FROM item whose column `*` expanded here, or nil
}

func (r *result) hasEncrypted() *Column {
	if r == nil {
		return nil
	}
	for _, c := range r.cols {
		if c.col != nil {
			return c.col
		}
	}
	return nil
}

// rel is one FROM item visible in a scope.
type rel struct {
	alias   string             // name used to qualify columns: alias or relation name
	schema  string             // schema when the relation is an unaliased table
	res     *result            // known shape, or nil
	enc     map[string]*Column // unknown shape: encrypted columns by name
	hasEnc  bool               // carries encrypted columns (whole-row references refused)
	merged  bool               // part of a USING/NATURAL join (changes `*`)
	isTable bool
}

// scope is one query level: its FROM items and CTEs, and the enclosing level.
type scope struct {
	parent *scope
	rels   []*rel
	ctes   map[string]*result
}

func newScope(parent *scope) *scope { return &scope{parent: parent} }

func (s *scope) cte(name string) (*result, bool) {
	for ; s != nil; s = s.parent {
		if r, ok := s.ctes[name]; ok {
			return r, true
		}
	}
	return nil, false
}

// tableRel builds the rel of a known table.
func tableRel(t *Table, alias, schema string) *rel {
	r := &rel{alias: alias, schema: schema, isTable: true, hasEnc: len(t.Encrypted) > 0}
	if t.Columns == nil {
		r.enc = t.Encrypted
		return r
	}
	res := &result{cols: make([]outCol, len(t.Columns))}
	for i, name := range t.Columns {
		res.cols[i] = outCol{name: name, col: t.Encrypted[name]}
	}
	r.res = res
	return r
}

// lookupCol finds column name in r: found says the relation definitely has it.
func (r *rel) lookupCol(name string) (c *Column, found bool) {
	if r.res != nil {
		for _, oc := range r.res.cols {
			if oc.name == name && !oc.unknownWidth {
				return oc.col, true
			}
		}
		return nil, false
	}
	if c := r.enc[name]; c != nil {
		return c, true
	}
	return nil, false
}

// resolve finds the encrypted column a reference names, or nil for a plaintext (or unknown)
// column. When a name could mean an encrypted column or something unknown, it resolves to the
// encrypted column: treating plaintext as encrypted can only give wrong results, the other way
// round would leak.
func (a *analyzer) resolve(sc *scope, fields []string, pos int) (*Column, error) {
	switch len(fields) {
	case 1:
		return a.resolveBare(sc, fields[0], pos)
	case 2, 3, 4:
		if r := qualifiedRel(sc, fields); r != nil {
			c, _ := r.lookupCol(fields[len(fields)-1])
			return c, nil
		}
	}
	return nil, nil
}

// qualifiedRel is the FROM item a qualified reference (t.c, s.t.c, d.s.t.c) names, or nil.
func qualifiedRel(sc *scope, fields []string) *rel {
	tbl, schema := fields[len(fields)-2], ""
	if len(fields) >= 3 {
		schema = fields[len(fields)-3]
	}
	for s := sc; s != nil; s = s.parent {
		for _, r := range s.rels {
			if r.alias == tbl && (schema == "" || r.schema == schema) {
				return r
			}
		}
	}
	return nil
}

// relOf is the FROM item a column reference names, found as resolve finds its column, or nil
// when that is not exactly one item: then no output of `*` is taken to be the reference.
func relOf(sc *scope, fields []string) *rel {
	switch len(fields) {
	case 1:
		for s := sc; s != nil; s = s.parent {
			var hit *rel
			n := 0
			for _, r := range s.rels {
				if _, ok := r.lookupCol(fields[0]); ok {
					hit, n = r, n+1
				}
			}
			if n == 1 {
				return hit
			}
			if n > 1 {
				return nil // ambiguous: PostgreSQL refuses the statement
			}
		}
	case 2, 3, 4:
		return qualifiedRel(sc, fields)
	}
	return nil
}

func (a *analyzer) resolveBare(sc *scope, name string, pos int) (*Column, error) {
	for s := sc; s != nil; s = s.parent {
		var hit *Column
		found := false
		for _, r := range s.rels {
			if c, ok := r.lookupCol(name); ok {
				found = true
				if c != nil {
					hit = c
				}
			}
		}
		if found {
			return hit, nil
		}
	}
	// Not a column anywhere: a whole-row reference to a relation carrying ciphertext would
	// hand out a composite value with ciphertext inside.
	for s := sc; s != nil; s = s.parent {
		for _, r := range s.rels {
			if r.alias == name && r.hasEnc {
				return nil, unsupportedf(pos, "a whole-row reference to %s, which has encrypted columns, is not supported", name)
			}
		}
	}
	return nil, nil
}

// star expands `*` or `t.*` in a target list.
func (a *analyzer) star(sc *scope, qual string, pos int) ([]outCol, error) {
	var out []outCol
	matched := false
	for _, r := range sc.rels {
		if qual != "" && r.alias != qual {
			continue
		}
		matched = true
		if qual == "" && r.merged && r.hasEnc {
			return nil, unsupportedf(pos, "* over a USING or NATURAL join of a table with encrypted columns is not supported")
		}
		if r.res == nil {
			if len(r.enc) > 0 {
				for _, c := range r.enc {
					return nil, unsupported(c, "* on a table whose column list pgseal does not know", pos)
				}
			}
			out = append(out, outCol{name: "*", unknownWidth: true})
			continue
		}
		for _, c := range r.res.cols {
			c.refStart, c.refEnd, c.from = -1, -1, r
			out = append(out, c)
		}
	}
	if qual != "" && !matched {
		// A qualifier from an outer level or unknown: PostgreSQL decides; we know nothing.
		out = append(out, outCol{name: "*", unknownWidth: true})
	}
	return out, nil
}

// rangeVarRel builds the rel for a relation name in FROM: a CTE or a table.
func (a *analyzer) rangeVarRel(sc *scope, rv *pg.RangeVar, pos int) (*rel, error) {
	return a.relationRel(sc, rv, true, pos)
}

// targetRangeVarRel builds the rel for the target of INSERT/UPDATE/DELETE: always a table, as
// in PostgreSQL a WITH query never hides the target table (setTargetTable, parse_clause.c). A
// CTE named like the target must not make its columns look plaintext.
func (a *analyzer) targetRangeVarRel(sc *scope, rv *pg.RangeVar, pos int) (*rel, error) {
	return a.relationRel(sc, rv, false, pos)
}

func (a *analyzer) relationRel(sc *scope, rv *pg.RangeVar, ctes bool, pos int) (*rel, error) {
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	var r *rel
	if rv.Schemaname == "" && ctes {
		if res, ok := sc.cte(rv.Relname); ok {
			r = &rel{alias: alias, res: res, hasEnc: res.hasEncrypted() != nil}
			if res == nil {
				r = &rel{alias: alias}
			}
		}
	}
	if r == nil {
		if t := a.schema.lookup(rv.Schemaname, rv.Relname); t != nil {
			schema := ""
			if rv.Alias == nil {
				schema = t.Schema
			}
			r = tableRel(t, alias, schema)
		} else {
			r = &rel{alias: alias}
		}
	}
	if rv.Alias != nil && len(rv.Alias.Colnames) > 0 {
		return renameCols(r, strs(rv.Alias.Colnames), pos)
	}
	return r, nil
}

// renameCols applies an alias column list `AS t(a, b)`.
func renameCols(r *rel, names []string, pos int) (*rel, error) {
	if r.res == nil {
		for _, c := range r.enc {
			return nil, unsupported(c, "a column alias list on a table whose column list pgseal does not know", pos)
		}
		return r, nil
	}
	res := &result{cols: append([]outCol(nil), r.res.cols...)}
	for i := 0; i < len(names) && i < len(res.cols); i++ {
		if res.cols[i].unknownWidth {
			if res.hasEncrypted() != nil {
				return nil, unsupported(res.hasEncrypted(), "a column alias list after *", pos)
			}
			break
		}
		res.cols[i].name = names[i]
	}
	nr := *r
	nr.res = res
	return &nr, nil
}
