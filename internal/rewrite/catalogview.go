package rewrite

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CatalogView tells Analyze how to show encrypted columns with their plaintext type in catalog
// introspection (pg_catalog.pg_attribute, information_schema.columns): ORMs build their type
// maps from them and would otherwise see bytea. The wire fills it from the catalog, per database.
type CatalogView struct {
	Attrs []PatchedAttr
	// AttributeColumns and ColumnsColumns are the columns of pg_catalog.pg_attribute and
	// information_schema.columns in attnum order, as the server has them (they differ between
	// PostgreSQL versions): the replacement keeps every column in place so that `a.*` still works.
	AttributeColumns []string
	ColumnsColumns   []string
}

// PatchedAttr is one encrypted column of one relation (a configured table or a descendant).
type PatchedAttr struct {
	Schema, Table, Column string // names, for information_schema.columns
	Relid                 uint32 // pg_class OID and attnum, for pg_attribute
	Attnum                int16
	TypeOID               uint32 // the plaintext type
	Typmod                int32  // -1 when unknown
}

// catalogWords are the words of texts that may read a catalog relation CatalogView patches.
var catalogWords = []string{"pg_attribute", "information_schema"}

// active reports whether the view has anything to patch.
func (v *CatalogView) active() bool {
	return v != nil && len(v.Attrs) > 0 && len(v.AttributeColumns) > 0 && len(v.ColumnsColumns) > 0
}

// catalogReplacement returns the subquery that replaces a reference to the catalog relation
// schema.name, or "" when it is not one CatalogView patches. Unqualified pg_attribute is
// pg_catalog's (always on the search path, first unless set otherwise); an unqualified
// `columns` is not patched (information_schema is rarely on the path).
func (s *Schema) catalogReplacement(schema, name string) string {
	switch {
	case name == "pg_attribute" && (schema == "" || schema == "pg_catalog"):
		return s.catalogSQL.attribute
	case name == "columns" && schema == "information_schema":
		return s.catalogSQL.columns
	}
	return ""
}

// catalogEdits patches every catalog relation read in the FROM clauses of a query: the relation
// name becomes a subquery with the same columns (and, without an alias, the alias the name gave).
// Only queries are patched (SELECT, and the query of EXPLAIN, DECLARE, COPY (…) TO and
// PREPARE): DDL would persist the patch (CREATE VIEW) and DML cannot target a subquery.
func (a *analyzer) catalogEdits(stmt *pg.Node) {
	if !a.schema.Catalog.active() || !containsAnyFold(a.sql, catalogWords) {
		return
	}
	switch v := stmt.GetNode().(type) {
	case *pg.Node_SelectStmt:
	case *pg.Node_ExplainStmt:
		stmt = v.ExplainStmt.Query
	case *pg.Node_DeclareCursorStmt:
		stmt = v.DeclareCursorStmt.Query
	case *pg.Node_CopyStmt:
		stmt = v.CopyStmt.Query // nil for COPY table
	case *pg.Node_PrepareStmt:
		stmt = v.PrepareStmt.Query // the session's own statement, like a protocol Parse
	default:
		return
	}
	if stmt.GetSelectStmt() == nil {
		return
	}
	a.schema.build()
	a.readRelations(stmt.ProtoReflect(), false)
}

// readRelations walks m and patches the RangeVars it reaches through a FROM clause (or a join
// in one): the relations a query reads.
func (a *analyzer) readRelations(m protoreflect.Message, from bool) {
	if rv, ok := m.Interface().(*pg.RangeVar); ok {
		if from {
			a.patchRelation(rv)
		}
		return
	}
	_, isNode := m.Interface().(*pg.Node)
	_, isJoin := m.Interface().(*pg.JoinExpr)
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		name := fd.Name()
		child := (isNode && from) || name == "from_clause" || (isJoin && (name == "larg" || name == "rarg"))
		if fd.IsList() {
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				a.readRelations(l.Get(i).Message(), child)
			}
			return true
		}
		a.readRelations(val.Message(), child)
		return true
	})
}

// patchRelation replaces the name of one catalog relation reference by its subquery.
func (a *analyzer) patchRelation(rv *pg.RangeVar) {
	// The parser folded unquoted names; a quoted "PG_ATTRIBUTE" is another relation.
	text := a.schema.catalogReplacement(rv.Schemaname, rv.Relname)
	if text == "" || rv.Catalogname != "" {
		return
	}
	parts := 1
	if rv.Schemaname != "" {
		parts = 2
	}
	end, ok := a.tokens().colRefEnd(int(rv.Location), parts)
	if !ok {
		return // the server reads the real relation: bytea shows, nothing leaks
	}
	if rv.Alias == nil {
		text += " AS " + rv.Relname
	}
	a.plan.Edits = append(a.plan.Edits, Edit{Start: int(rv.Location), End: end, Kind: EditStatic, Text: text})
	a.stmt.CatalogView = true
}

func containsAnyFold(s string, words []string) bool {
	for _, w := range words {
		if containsFold(s, w) {
			return true
		}
	}
	return false
}

// catalogSQL holds the replacement subqueries, built once with the Schema's name index.
type catalogSQL struct {
	attribute, columns string
}

// buildCatalogSQL writes the two subqueries. Like catalog.Query they must mean the same under
// any session settings: every function, operator and type is schema-qualified, literals are
// E'…' (names of tables and columns only, never data), numbers carry explicit types.
func buildCatalogSQL(v *CatalogView) catalogSQL {
	if !v.active() {
		return catalogSQL{}
	}
	return catalogSQL{attribute: attributeSQL(v), columns: columnsSQL(v)}
}

// attributeSQL patches atttypid, atttypmod and attcollation (the plaintext type's default
// collation, as a column declared without COLLATE has) of the encrypted columns by (attrelid,
// attnum). Storage fields (attlen, attbyval, attalign, attstorage, attcompression) stay bytea's:
// they describe the stored value, and no client reads a column's type from them.
func attributeSQL(v *CatalogView) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range v.AttributeColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		switch c {
		case "atttypid":
			attrCase(&b, v, c, func(p PatchedAttr) string { return oidLit(p.TypeOID) })
		case "atttypmod":
			attrCase(&b, v, c, func(p PatchedAttr) string { return int4Lit(p.Typmod) })
		case "attcollation":
			attrCase(&b, v, c, func(p PatchedAttr) string {
				return "(SELECT pgseal_t.typcollation FROM pg_catalog.pg_type pgseal_t WHERE pgseal_t.oid OPERATOR(pg_catalog.=) " + oidLit(p.TypeOID) + ")"
			})
		default:
			b.WriteString("pgseal_a." + quoteIdent(c))
		}
	}
	b.WriteString(" FROM pg_catalog.pg_attribute pgseal_a)")
	return b.String()
}

func attrCase(b *strings.Builder, v *CatalogView, col string, val func(PatchedAttr) string) {
	b.WriteString("CASE")
	for _, p := range v.Attrs {
		b.WriteString(" WHEN pgseal_a.attrelid OPERATOR(pg_catalog.=) " + oidLit(p.Relid) +
			" AND pgseal_a.attnum OPERATOR(pg_catalog.=) " + strconv.Itoa(int(p.Attnum)) + "::pg_catalog.int2 THEN " + val(p))
	}
	b.WriteString(" ELSE pgseal_a." + col + " END AS " + col)
}

func oidLit(oid uint32) string { return strconv.FormatUint(uint64(oid), 10) + "::pg_catalog.oid" }
