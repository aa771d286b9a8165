package rewrite

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Schema is the encryption schema Analyze resolves names against. Build it once (NewSchema,
// AddTable, AddColumn or a struct literal) and do not mutate it afterwards: Analyze reads it from
// many goroutines.
type Schema struct {
	SearchPath []string          // unqualified names resolve through it; default ["public"]
	Tables     map[string]*Table // key "schema.table" (lower-case, unquoted identifiers)

	TrackedSettings []string // lower-case names of settings the wire tracks; see body.go

	once    sync.Once
	names   []string     // lower-case names of tables with encrypted columns, for the prefilter
	needles *needleTable // the prefilter's words and names by first byte
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
	Table  string // "schema.table"
	Name   string
	Type   string // plaintext type name as configured ("text", "int8", "timestamptz", ...)
	Eq     bool   // equality search enabled
	Domain string // equality domain; columns with the same Domain may be compared; default = ID
	ID     string // "schema.table.column" (used as associated data by crypto)
}

// MarshalJSON writes a column as its ID so that plans stay small and readable in goldens.
func (c *Column) MarshalJSON() ([]byte, error) { return json.Marshal(c.id()) }

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

// NewSchema returns an empty schema with the given search path (nil = ["public"]).
func NewSchema(searchPath []string) *Schema {
	return &Schema{SearchPath: searchPath, Tables: map[string]*Table{}}
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

// lookup resolves a (possibly unqualified) relation name to a known table, or nil.
func (s *Schema) lookup(schema, name string) *Table {
	if s == nil || len(s.Tables) == 0 {
		return nil
	}
	if schema != "" {
		return s.Tables[schema+"."+name]
	}
	path := s.SearchPath
	if len(path) == 0 {
		path = []string{"public"}
	}
	for _, p := range path {
		if t, ok := s.Tables[p+"."+name]; ok {
			return t
		}
	}
	return nil
}

// encryptedNames lists the lower-case names of tables that have encrypted columns.
func (s *Schema) encryptedNames() []string {
	s.once.Do(func() {
		seen := map[string]bool{}
		for _, t := range s.Tables {
			n := strings.ToLower(t.Name)
			if len(t.Encrypted) > 0 && !seen[n] {
				seen[n] = true
				s.names = append(s.names, n)
			}
		}
		s.needles = newNeedleTable(append(append([]string(nil), prefilterWords...), s.names...))
	})
	return s.names
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
