package seal

import (
	"strings"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// entryColumns builds, once per catalog read, the column (internal/column) of every encrypted
// column the catalog's schema names, children and partitions included, keyed by the schema's
// own *rewrite.Column (the plans analysed against that schema hold the same pointers).
func entryColumns(info *catalog.Info) map[*rewrite.Column]*column.Column {
	out := map[*rewrite.Column]*column.Column{}
	add := func(c *rewrite.Column) {
		if _, ok := out[c]; ok || c == nil {
			return
		}
		if col, err := newColumn(c, info); err == nil {
			out[c] = &col
		}
	}
	if info.Schema != nil {
		for _, t := range info.Schema.Tables {
			for _, c := range t.Encrypted {
				add(c)
			}
		}
	}
	for _, c := range info.ByAttr {
		add(c)
	}
	return out
}

// columnOf is the column of c in ent's catalog: the one built with the entry, else (a column
// the entry's schema does not hold) a new one.
func columnOf(c *rewrite.Column, ent *catalogEntry) (*column.Column, error) {
	if col, ok := ent.cols[c]; ok {
		return col, nil
	}
	col, err := newColumn(c, ent.info)
	if err != nil {
		return nil, err
	}
	return &col, nil
}

// newColumn describes a rewrite column with the catalog's plaintext type and varchar length.
func newColumn(c *rewrite.Column, info *catalog.Info) (column.Column, error) {
	t, ok := info.Types[c.ID]
	if !ok {
		var err error
		if t, err = value.ParseType(c.Type); err != nil {
			return column.Column{}, err
		}
	}
	schema, table, _ := strings.Cut(c.Table, ".")
	col := column.Column{Schema: schema, Table: table, Name: c.Name, ID: c.ID, Domain: c.Domain, Type: t, Eq: c.Eq,
		Ord: c.Ord, Match: c.Match, ByteOrder: c.ByteOrder, OrdMaxBytes: info.OrdLimit(c.ID)}
	if m := info.Typmod(c.ID); t == value.Varchar && m >= 4 {
		col.MaxChars = int(m) - 4 // VARHDRSZ (catalog/typmod.go)
	}
	return col, nil
}
