package rewrite

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Schema is the encryption schema Analyze resolves names against. Build it once (NewSchema,
// AddTable, AddColumn or a struct literal) and do not mutate it afterwards: Analyze reads it from
// many goroutines.
type Schema struct {
	Tables map[string]*Table // key "schema.table" (lower-case, unquoted identifiers)
	// Refused names relations ("schema.name") that no statement may name, with the reason sent to
	// the client (0A000): views over encrypted tables, relations with rewrite rules that involve
	// one, their other ancestors, children of several encrypted tables (the catalog finds them).
	Refused map[string]string
	// ParseWords are extra lower-case words whose texts the prefilter must hand to the parser.
	ParseWords []string

	TrackedSettings []string // lower-case names of settings the wire tracks; see body.go

	// Catalog, when set, makes catalog introspection show encrypted columns with their
	// plaintext types (catalogview.go).
	Catalog *CatalogView

	once       sync.Once
	names      []string            // lower-case names of encrypted and refused relations, for the prefilter
	needles    *needleTable        // the prefilter's words and names by first byte
	byName     map[string][]string // lower-case relation name -> keys of Tables and Refused with it
	catalogSQL catalogSQL          // Catalog's replacement subqueries
}

// Table is one table the schema knows. Tables without encrypted columns may be listed so that
// `*` can be expanded across them.
type Table struct {
	Schema, Name string
	Columns      []string           // ALL column names in attnum order; nil = unknown
	Encrypted    map[string]*Column // by column name
}

// Column is one encrypted column.
type Column struct {
	Table string // "schema.table"
	Name  string
	Type  string // plaintext type name as configured ("text", "int8", "timestamptz", ...)
	Eq    bool   // equality search enabled
	// Ord and Match: the column's values carry order and match terms (search = ["ord"],
	// ["match"]); OrdReady and MatchReady: every stored value has them and their index exists,
	// so queries may use them (catalog decides; until then such queries are refused).
	Ord, Match           bool `json:",omitempty"`
	OrdReady, MatchReady bool `json:",omitempty"`
	// ByteOrder: text_order = "bytes", ord on this text column may order by bytes (COLLATE "C").
	ByteOrder bool   `json:",omitempty"`
	Domain    string // equality domain; columns with the same Domain may be compared; default = ID
	ID        string // "schema.table.column" (used as associated data by crypto)
}

// MarshalJSON writes a column as its ID so that plans stay small and readable in goldens.
func (c *Column) MarshalJSON() ([]byte, error) { return json.Marshal(c.id()) }

// searchable reports whether the column's values carry search terms.
func (c *Column) searchable() bool { return c.Eq || c.Ord || c.Match }

func (c *Column) id() string {
	if c.ID != "" {
		return c.ID
	}
	return c.Table + "." + c.Name
}

func (c *Column) domain() string {
	if c.Domain != "" {
		return c.Domain
	}
	return c.id()
}

// display is the name used in error messages: "users.email" (schema omitted when public).
func (c *Column) display() string {
	t := strings.TrimPrefix(c.Table, "public.")
	return t + "." + c.Name
}

// sameColumn reports whether a and b are the same configured column (ciphertext may be copied).
func sameColumn(a, b *Column) bool { return a != nil && b != nil && a.id() == b.id() }

// NewSchema returns an empty schema.
func NewSchema() *Schema {
	return &Schema{Tables: map[string]*Table{}}
}

// AddTable registers (or returns) table schema.name; columns may be nil when unknown.
func (s *Schema) AddTable(schema, name string, columns []string) *Table {
	key := schema + "." + name
	if t, ok := s.Tables[key]; ok {
		if columns != nil {
			t.Columns = columns
		}
		return t
	}
	t := &Table{Schema: schema, Name: name, Columns: columns, Encrypted: map[string]*Column{}}
	s.Tables[key] = t
	return t
}

// AddColumn registers an encrypted column. c.Table is "schema.table"; the table is created when
// missing. ID and Domain default to "schema.table.column".
func (s *Schema) AddColumn(c Column) (*Column, error) {
	sch, tbl, ok := strings.Cut(c.Table, ".")
	if !ok || sch == "" || tbl == "" || c.Name == "" {
		return nil, fmt.Errorf("rewrite: encrypted column %q.%q: table must be schema.table", c.Table, c.Name)
	}
	if c.Type == "" {
		return nil, fmt.Errorf("rewrite: encrypted column %s.%s: plaintext type missing", c.Table, c.Name)
	}
	if c.ID == "" {
		c.ID = c.Table + "." + c.Name
	}
	if c.Domain == "" {
		c.Domain = c.ID
	}
	t := s.AddTable(sch, tbl, nil)
	col := c
	t.Encrypted[c.Name] = &col
	return &col, nil
}

// lookup resolves a (possibly unqualified) relation name to a known table, or nil (unknown, or
// a name refusal refuses).
//
// An unqualified name does not follow any search path: pgseal cannot know the session's, which
// SET, ALTER ROLE, startup options and functions change. It resolves to the one encrypted (or
// refused) relation of that name in any schema, so that a same-named relation elsewhere is
// treated as the encrypted one (ciphertext or a type error at worst, never plaintext); several
// such candidates are refused by refusal. Tables without encrypted columns (known only to expand
// `*`) are found by name when no encrypted relation has it.
func (s *Schema) lookup(schema, name string) *Table {
	if s == nil || len(s.Tables) == 0 {
		return nil
	}
	key := schema + "." + name
	if schema == "" {
		keys := s.candidates(name)
		if len(keys) != 1 {
			return nil
		}
		key = keys[0]
	}
	if _, refused := s.Refused[key]; refused {
		return nil
	}
	return s.Tables[key]
}

// refusal returns why a statement may not name the relation, or "".
func (s *Schema) refusal(schema, name string) string {
	if s == nil || len(s.Tables)+len(s.Refused) == 0 {
		return ""
	}
	if schema != "" {
		return s.Refused[schema+"."+name]
	}
	keys := s.candidates(name)
	switch {
	case len(keys) == 1:
		return s.Refused[keys[0]]
	case len(keys) > 1 && s.matters(keys[0]):
		return fmt.Sprintf("relation name %s is ambiguous among encrypted tables; schema-qualify it", name)
	}
	return ""
}

// candidates returns the keys an unqualified name may mean: the encrypted or refused relations
// of that name when there are any, else the plain known tables of that name.
func (s *Schema) candidates(name string) []string {
	keys := s.index()[name]
	for i, k := range keys {
		if !s.matters(k) {
			if i == 0 {
				return keys
			}
			return keys[:i]
		}
	}
	return keys
}

// matters reports whether key is a refused relation or a table with encrypted columns.
func (s *Schema) matters(key string) bool {
	if _, ok := s.Refused[key]; ok {
		return true
	}
	t := s.Tables[key]
	return t != nil && len(t.Encrypted) > 0
}

// index returns the keys of Tables and Refused by relation name, encrypted and refused first.
func (s *Schema) index() map[string][]string {
	s.build()
	return s.byName
}

// encryptedNames lists the lower-case names of tables that have encrypted columns and of refused
// relations: a text without any of them cannot matter.
func (s *Schema) encryptedNames() []string {
	s.build()
	return s.names
}

// build makes the name index and the prefilter's needles, once.
func (s *Schema) build() {
	s.once.Do(func() {
		s.byName = map[string][]string{}
		seen := map[string]bool{}
		add := func(key, name string, matters bool) {
			s.byName[name] = append(s.byName[name], key)
			n := strings.ToLower(name)
			if matters && !seen[n] {
				seen[n] = true
				s.names = append(s.names, n)
			}
		}
		for k, t := range s.Tables {
			if _, refused := s.Refused[k]; !refused {
				add(k, t.Name, len(t.Encrypted) > 0)
			}
		}
		for k := range s.Refused {
			_, name, _ := strings.Cut(k, ".")
			add(k, name, true)
		}
		for _, keys := range s.byName {
			// Encrypted and refused relations first (candidates relies on it), then by key.
			sort.Slice(keys, func(i, j int) bool {
				if mi, mj := s.matters(keys[i]), s.matters(keys[j]); mi != mj {
					return mi
				}
				return keys[i] < keys[j]
			})
		}
		words := append(append([]string(nil), prefilterWords...), s.ParseWords...)
		if s.Catalog.active() {
			words = append(words, catalogWords...)
			s.catalogSQL = buildCatalogSQL(s.Catalog)
		}
		s.needles = newNeedleTable(append(words, s.names...))
	})
}

// typeAliases maps SQL spellings to the internal names pg_query produces, so that a cast
// `'x'::bigint` matches a column configured as "int8".
var typeAliases = map[string]string{
	"bigint": "int8", "integer": "int4", "int": "int4", "smallint": "int2",
	"boolean": "bool", "real": "float4", "double precision": "float8", "float": "float8",
	"decimal": "numeric", "character varying": "varchar", "character": "bpchar", "char": "bpchar",
	"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
	"time with time zone": "timetz", "time without time zone": "time",
}

// canonicalType normalises a configured or parsed type name.
func canonicalType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	t = strings.TrimPrefix(t, "pg_catalog.")
	if a, ok := typeAliases[t]; ok {
		return a
	}
	return t
}
