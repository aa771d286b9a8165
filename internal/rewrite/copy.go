package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// copyStmt describes COPY for the wire. COPY of an encrypted table only works through the
// client (STDIN/STDOUT), in text, CSV or binary, where the wire can encrypt or decrypt each field.
func (a *analyzer) copyStmt(c *pg.CopyStmt, pos int) error {
	cp := &Copy{From: c.IsFrom}
	if err := copyOptions(cp, c.Options); err != nil {
		return err
	}
	a.stmt.Copy = cp
	var fields []*Column
	if c.Relation != nil {
		t := a.schema.lookup(c.Relation.Schemaname, c.Relation.Relname)
		if t == nil || len(t.Encrypted) == 0 {
			cp.Table = qualified(c.Relation)
			cp.Columns = strs(c.Attlist)
			return nil
		}
		cp.Table = t.Schema + "." + t.Name
		cp.Columns = strs(c.Attlist)
		if len(cp.Columns) == 0 {
			if t.Columns == nil {
				for _, col := range t.Encrypted {
					return unsupported(col, "COPY without a column list (pgseal does not know the table's columns)", pos)
				}
			}
			cp.Columns = append([]string(nil), t.Columns...)
		}
		for _, name := range cp.Columns {
			fields = append(fields, t.Encrypted[name])
		}
		if c.WhereClause != nil {
			sc := newScope(nil)
			sc.rels = append(sc.rels, tableRel(t, t.Name, t.Schema))
			if err := a.predicate(c.WhereClause, sc, "COPY … WHERE", pos); err != nil {
				return err
			}
		}
	} else if c.Query != nil {
		res, err := a.query(c.Query, nil, pos)
		if err != nil {
			return err
		}
		for _, oc := range res.cols {
			if oc.unknownWidth {
				if col := res.hasEncrypted(); col != nil {
					return unsupported(col, "COPY of a query with * of a table whose columns pgseal does not know", pos)
				}
				fields = nil
				break
			}
			fields = append(fields, oc.col)
		}
	}
	return a.checkCopyFields(c, cp, fields, pos)
}

func (a *analyzer) checkCopyFields(c *pg.CopyStmt, cp *Copy, fields []*Column, pos int) error {
	var enc *Column
	for _, f := range fields {
		if f != nil {
			enc = f
			break
		}
	}
	if enc == nil {
		return nil
	}
	a.stmt.Touches = true
	cp.Fields = fields
	for _, f := range fields {
		a.stmt.Terms = a.stmt.Terms || cp.From && f != nil && f.searchable()
	}
	if c.Filename != "" || c.IsProgram {
		return unsupported(enc, "COPY to or from a server file or program", pos)
	}
	for i, f := range fields {
		if f == nil {
			continue
		}
		name := f.Name
		if c.Relation != nil && i < len(cp.Columns) {
			name = cp.Columns[i]
		}
		if opt, ok := forcedColumn(c.Options, name, c.Relation == nil); ok {
			return unsupported(f, opt+" on an encrypted column in COPY", pos)
		}
	}
	return nil
}

// forcedColumn reports a FORCE_QUOTE, FORCE_NOT_NULL or FORCE_NULL option that names column (or
// all columns with *): the wire's COPY transforms decide quoting and NULLs the default way only.
// For COPY (query) every force option counts, output names being hard to match reliably.
func forcedColumn(opts []*pg.Node, column string, anyName bool) (string, bool) {
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil || !strings.HasPrefix(d.Defname, "force_") {
			continue
		}
		opt := strings.ToUpper(d.Defname)
		if anyName || d.Arg == nil || d.Arg.GetAStar() != nil {
			return opt, true
		}
		l := d.Arg.GetList()
		if l == nil {
			return opt, true
		}
		for _, name := range strs(l.Items) {
			if name == column {
				return opt, true
			}
		}
	}
	return "", false
}

// copyOptions reads the options that shape the data stream, with PostgreSQL's defaults.
func copyOptions(cp *Copy, opts []*pg.Node) error {
	cp.Format = "text"
	set := map[string]string{}
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		v := ""
		if d.Arg != nil {
			if s, ok := stringConst(d.Arg); ok {
				v = s
			} else if s := d.Arg.GetString_(); s != nil {
				v = s.Sval
			} else if b := d.Arg.GetBoolean(); b != nil {
				v = "true"
				if !b.Boolval {
					v = "false"
				}
			} else if i := d.Arg.GetInteger(); i != nil {
				v = itoa(int(i.Ival))
			}
		} else {
			v = "true"
		}
		set[d.Defname] = v
	}
	if f, ok := set["format"]; ok {
		cp.Format = strings.ToLower(f)
	}
	cp.Delimiter, cp.Null = "\t", `\N`
	if cp.Format == "csv" {
		cp.Delimiter, cp.Null, cp.Quote = ",", "", `"`
	}
	if v, ok := set["delimiter"]; ok {
		cp.Delimiter = v
	}
	if v, ok := set["null"]; ok {
		cp.Null = v
	}
	if v, ok := set["quote"]; ok {
		cp.Quote = v
	}
	cp.Escape = cp.Quote
	if v, ok := set["escape"]; ok {
		cp.Escape = v
	}
	if v, ok := set["header"]; ok {
		b, known := boolConst(&pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Sval{Sval: &pg.String{Sval: v}}}}})
		cp.Header = (known && b) || strings.EqualFold(v, "match")
	}
	return nil
}

func qualified(rv *pg.RangeVar) string {
	if rv.Schemaname != "" {
		return rv.Schemaname + "." + rv.Relname
	}
	return rv.Relname
}
