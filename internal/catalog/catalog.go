// Package catalog resolves the configured encrypted columns in one database: which tables exist,
// their full column lists (rewrite needs them to expand `*` and INSERTs without a column list), the
// table OIDs and attribute numbers (RowDescription names a result column's origin by them), the
// migration tool's shadow columns (hidden from applications), and the check that every encrypted
// column really is bytea.
//
// Beyond the configured tables it finds (one recursive query):
//   - every inheritance child and partition, at any depth: each is a table of the rewrite schema
//     whose encrypted columns are its root's, the same *rewrite.Column (same ID, so the same
//     associated data), matched by name, with its own OID and attnums in ByAttr;
//   - every relation whose rewrite rules depend, directly or through other such relations, on a
//     configured table or a descendant with an encrypted column (views, materialized views, tables
//     with rules, a table with rules of its own included): rewrite.Schema.Refused, with the reason;
//   - every ancestor (inheritance parent, partitioned table) of a configured table that is not
//     configured itself: refused too (an INSERT into it lands in the encrypted table), as is a
//     descendant of several configured tables.
//
// Views reaching encrypted tables only through function bodies are not found (PostgreSQL records
// no dependency for them).
//
// The query runs on client sessions' own connections, under whatever they set: see Query for how
// it stays immune to search_path, shadowing functions and operators, and settings.
//
// Build is pure (rows in, Info out) so the proxy can run Query over its own upstream connection
// and the command-line tools over pgx; Load does the latter.
package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// Attr names a table column the way RowDescription does.
type Attr struct {
	Table  uint32 // pg_class OID
	Number int16  // attnum
}

// Info is what pgseal knows about one database's encrypted columns.
type Info struct {
	Schema *rewrite.Schema
	// ByAttr finds the encrypted column behind a RowDescription field.
	ByAttr map[Attr]*rewrite.Column
	// Types gives each encrypted column's plaintext type, by column ID (Typmod: its modifiers).
	Types map[string]value.Type
	// Pending lists configured columns that are not bytea yet, by column ID, with their current
	// type: data not yet migrated with `proxy encrypt` (or already decrypted out with `proxy
	// decrypt`). pgseal relays them as plaintext, as they are stored; PendingAttr finds them by origin
	// so that a stale Info is noticed when the server reports bytea for one of them.
	Pending     map[string]string
	PendingAttr map[Attr]string
	// Shadow finds the migration tool's shadow columns ("<column>__pgseal" of a configured column's
	// table, present while `proxy encrypt`/`proxy decrypt` runs) by origin, with the configured
	// column's ID: the proxy hides them from applications.
	Shadow map[Attr]string
	// Columns names every column of the configured tables by origin, and Tables maps their OIDs
	// to "schema.table": a RowDescription origin in a configured table that Columns does not know
	// is a column added after the catalog was read.
	Columns map[Attr]string
	Tables  map[uint32]string

	// typmods holds each configured column's atttypmod from its modifiers (-1: none), by ID,
	// for Schema.Catalog.
	typmods map[string]int32
	// CTypeIsC: the database's LC_CTYPE is C or POSIX, where lower() (and so ILIKE) folds only
	// ASCII letters.
	CTypeIsC bool

	// ordLimit is each ord column's ord_max_bytes (config.Encrypt.OrdLimit), by ID.
	ordLimit map[string]int

	// related lists, by configured table, its descendants and the relations whose rewrite rules
	// reach it (refused or not): what RefuseTable refuses with it.
	related map[string][]string
}

// OrdLimit is the column's ord_max_bytes (config.DefaultOrdMaxBytes when not known).
func (info *Info) OrdLimit(id string) int {
	if n := info.ordLimit[id]; n > 0 {
		return n
	}
	return config.DefaultOrdMaxBytes
}

// RefuseTable puts a configured table ("schema.table"), its descendants and every view or rule
// over it in Schema.Refused with msg. Call it before the Info is used (the Schema is immutable
// once analysed against).
func (info *Info) RefuseTable(table, msg string) {
	info.Schema.Refused[table] = msg
	for _, k := range info.related[table] {
		info.Schema.Refused[k] = msg
	}
}

// ShadowSuffix ends the name of a migration's shadow column.
const ShadowSuffix = "__pgseal"

// relation is one table of Query's 'c' rows: a configured table or a descendant.
type relation struct {
	key   string // "schema.table"
	oid   uint32
	cols  []Row // one per attnum, in attnum order
	roots map[uint32]bool
	first uint32 // the root whose rows cols holds
}

// configured is one configured column of a root table: col is nil while it is pending.
type configured struct {
	name, id string
	col      *rewrite.Column
}

// Build checks cols against the catalog rows and returns the Info. Every problem is reported:
// a missing table or column, an unknown type, equality search on a type without it. A column that
// is not bytea is not an error: it is Pending (see Info).
//
// Descendants (inheritance children, partitions, at any depth) of a configured table get the
// configured table's encrypted columns, the same *rewrite.Column matched by name (same ID, so the
// same associated data: a value written through the parent reads through the child and back),
// with their own OIDs and attnums in ByAttr. A descendant of several configured tables, and every
// relation with rewrite rules that reach an encrypted table (views, materialized views, rules),
// goes to Schema.Refused.
func Build(cols []config.Encrypt, rows []Row) (*Info, error) {
	info := newInfo()
	rels, order := groupRows(rows)
	roots := map[string]*relation{}
	for _, oid := range order {
		r := rels[oid]
		info.Tables[oid] = r.key
		cols := make([]string, len(r.cols))
		for i, c := range r.cols {
			cols[i] = c.Column
			info.Columns[Attr{oid, c.Number}] = c.Column
		}
		sch, name, _ := strings.Cut(r.key, ".")
		info.Schema.Tables[r.key] = &rewrite.Table{Schema: sch, Name: name, Columns: cols, Encrypted: map[string]*rewrite.Column{}}
		if r.roots[oid] {
			roots[r.key] = r
		}
	}
	conf, err := info.configure(cols, roots)
	if err != nil {
		return nil, err
	}
	if err := info.descendants(rels, order, conf); err != nil {
		return nil, err
	}
	info.ready(rows, conf)
	for _, row := range rows {
		if row.Kind == 'd' {
			info.CTypeIsC = row.Type == "C" || row.Type == "POSIX"
		}
	}
	info.refuse(rows, rels, conf)
	info.catalogView(rows)
	// Tables with no encrypted column need not be known to rewrite.
	for k, t := range info.Schema.Tables {
		if len(t.Encrypted) == 0 {
			delete(info.Schema.Tables, k)
		}
	}
	return info, nil
}

func newInfo() *Info {
	return &Info{
		Schema:      &rewrite.Schema{Tables: map[string]*rewrite.Table{}, Refused: map[string]string{}},
		ByAttr:      map[Attr]*rewrite.Column{},
		Types:       map[string]value.Type{},
		Pending:     map[string]string{},
		PendingAttr: map[Attr]string{},
		Shadow:      map[Attr]string{},
		Columns:     map[Attr]string{},
		Tables:      map[uint32]string{},
		related:     map[string][]string{},
		typmods:     map[string]int32{},
		ordLimit:    map[string]int{},
	}
}

// groupRows collects the 'c' rows by table OID, one row per attnum (a table reached from several
// configured tables comes once per root), and returns the OIDs in the rows' order.
func groupRows(rows []Row) (map[uint32]*relation, []uint32) {
	rels := map[uint32]*relation{}
	var order []uint32
	for _, row := range rows {
		if row.Kind != 'c' {
			continue
		}
		r := rels[row.TableOID]
		if r == nil {
			r = &relation{key: row.Schema + "." + row.Table, oid: row.TableOID, roots: map[uint32]bool{}, first: row.Root}
			rels[row.TableOID] = r
			order = append(order, row.TableOID)
		}
		r.roots[row.Root] = true
		if row.Root == r.first { // other roots repeat the same columns
			r.cols = append(r.cols, row)
		}
	}
	return rels, order
}

// configure resolves every configured column in its own table, by root OID.
func (info *Info) configure(cols []config.Encrypt, roots map[string]*relation) (map[uint32][]configured, error) {
	conf := map[uint32][]configured{}
	var errs []error
	for _, c := range cols {
		table := strings.ToLower(c.QualifiedTable())
		column := strings.ToLower(c.Column)
		id := c.ColumnID()
		typ, err := value.ParseType(c.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("encrypt %s: type %q: %w", id, c.Type, err))
			continue
		}
		if info.typmods[id], err = typmod(typ, c.Modifiers); err != nil {
			errs = append(errs, fmt.Errorf("encrypt %s: %w", id, err))
			continue
		}
		r := roots[table]
		if r == nil {
			errs = append(errs, fmt.Errorf("encrypt %s: table %s does not exist", id, table))
			continue
		}
		row, ok := r.column(column)
		if sh, found := r.column(column + ShadowSuffix); found {
			info.Shadow[Attr{r.oid, sh.Number}] = id
		}
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("encrypt %s: column %s does not exist", id, column))
			continue
		case !row.Bytea:
			info.Pending[id] = row.Type
			info.PendingAttr[Attr{r.oid, row.Number}] = id
			conf[r.oid] = append(conf[r.oid], configured{name: column, id: id})
			continue
		}
		if c.HasEq() && !typ.SupportsEquality() {
			errs = append(errs, fmt.Errorf("encrypt %s: type %s has no equality search", id, typ))
			continue
		}
		col := &rewrite.Column{Table: table, Name: column, Type: typ.String(), Eq: c.HasEq(), Domain: c.TermDomain(), ID: id,
			Ord: c.HasOrd(), Match: c.HasMatch(), ByteOrder: c.TextOrder == "bytes"}
		info.ordLimit[id] = c.OrdLimit()
		info.Schema.Tables[table].Encrypted[column] = col
		info.ByAttr[Attr{r.oid, row.Number}] = col
		info.Types[id] = typ
		conf[r.oid] = append(conf[r.oid], configured{name: column, id: id, col: col})
	}
	return conf, errors.Join(errs...)
}

func (r *relation) column(name string) (Row, bool) {
	for _, c := range r.cols {
		if c.Column == name {
			return c, true
		}
	}
	return Row{}, false
}

// descendants gives every descendant of one configured table that table's configured columns.
func (info *Info) descendants(rels map[uint32]*relation, order []uint32, conf map[uint32][]configured) error {
	var errs []error
	for _, oid := range order {
		r := rels[oid]
		if r.roots[oid] {
			continue // configured itself: its own configuration applies
		}
		for root := range r.roots {
			rk := rels[root].key
			info.related[rk] = append(info.related[rk], r.key)
		}
		if len(r.roots) > 1 {
			if encryptedRoot(r.roots, conf) != 0 {
				info.Schema.Refused[r.key] = fmt.Sprintf("relation %s inherits from several encrypted tables; pgseal refuses it", r.key)
			}
			continue
		}
		t := info.Schema.Tables[r.key]
		for _, c := range conf[r.first] {
			row, ok := r.column(c.name)
			if sh, found := r.column(c.name + ShadowSuffix); found {
				info.Shadow[Attr{oid, sh.Number}] = c.id
			}
			switch {
			case !ok || c.col != nil && !row.Bytea:
				// PostgreSQL keeps inherited columns and their types; seeing otherwise, stop.
				errs = append(errs, fmt.Errorf("encrypt %s: column %s of descendant table %s is missing or not bytea", c.id, c.name, r.key))
			case c.col == nil || !row.Bytea:
				info.PendingAttr[Attr{oid, row.Number}] = c.id
			default:
				t.Encrypted[c.name] = c.col
				info.ByAttr[Attr{oid, row.Number}] = c.col
			}
		}
	}
	return errors.Join(errs...)
}

// encryptedRoot returns one of roots that has an encrypted (not pending) column, or 0.
func encryptedRoot(roots map[uint32]bool, conf map[uint32][]configured) uint32 {
	for root := range roots {
		for _, c := range conf[root] {
			if c.col != nil {
				return root
			}
		}
	}
	return 0
}

// refuse puts every relation of a 'r' or 'a' row that reaches an encrypted column in
// Schema.Refused: a view would hand ciphertext to clients as values and let plaintext be written
// through it, a rule may copy values anywhere, and an ancestor routes its INSERTs into the
// encrypted table and returns its ciphertext under its own origin. Relations over tables whose
// columns are all pending are left alone (their data is plaintext anyway).
func (info *Info) refuse(rows []Row, rels map[uint32]*relation, conf map[uint32][]configured) {
	for _, row := range rows {
		if row.Kind != 'r' && row.Kind != 'a' || rels[row.Root] == nil {
			continue
		}
		key := row.Schema + "." + row.Table
		rk := rels[row.Root].key
		info.related[rk] = append(info.related[rk], key)
		if encryptedRoot(map[uint32]bool{row.Root: true}, conf) == 0 {
			continue
		}
		if _, done := info.Schema.Refused[key]; done {
			continue
		}
		root := strings.TrimPrefix(rels[row.Root].key, "public.")
		var msg string
		switch {
		case row.Kind == 'a':
			msg = fmt.Sprintf("relation %s holds the rows of encrypted table %s (a partition or child of it); use the encrypted table, or configure this one", row.Table, root)
		case row.Relkind == "v" || row.Relkind == "m":
			msg = fmt.Sprintf("relation %s reads or writes encrypted table %s through a view; use the table", row.Table, root)
		default:
			msg = fmt.Sprintf("relation %s has rewrite rules that involve encrypted table %s; pgseal refuses it", row.Table, root)
		}
		info.Schema.Refused[key] = msg
	}
}

// Typmod is a configured column's atttypmod from its [[encrypt]] modifiers (-1: none).
func (info *Info) Typmod(id string) int32 {
	if m, ok := info.typmods[id]; ok {
		return m
	}
	return -1
}
