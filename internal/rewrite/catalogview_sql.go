package rewrite

import (
	"strconv"
	"strings"
)

// columnsPatches are the information_schema.columns fields that follow the column's type, with
// the expression PostgreSQL's view uses for a built-in base type (src/backend/catalog/
// information_schema.sql), over the plaintext type's OID (pgseal_p.t) and typmod (pgseal_p.m).
var columnsPatches = map[string]string{
	"data_type":                "pg_catalog.format_type(pgseal_p.t, NULL)::information_schema.character_data",
	"character_maximum_length": "information_schema._pg_char_max_length(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"character_octet_length":   "information_schema._pg_char_octet_length(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"numeric_precision":        "information_schema._pg_numeric_precision(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"numeric_precision_radix":  "information_schema._pg_numeric_precision_radix(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"numeric_scale":            "information_schema._pg_numeric_scale(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"datetime_precision":       "information_schema._pg_datetime_precision(pgseal_p.t, pgseal_p.m)::information_schema.cardinal_number",
	"interval_type":            "information_schema._pg_interval_type(pgseal_p.t, pgseal_p.m)::information_schema.character_data",
	"udt_name": "(SELECT pgseal_t.typname FROM pg_catalog.pg_type pgseal_t WHERE pgseal_t.oid OPERATOR(pg_catalog.=) pgseal_p.t)" +
		"::information_schema.sql_identifier",
}

// columnsSQL patches the type fields of information_schema.columns. The view reads
// pg_attribute itself, out of reach of a rewrite, so its rows are joined with the encrypted
// columns by name (schema, table, column: unique in the view, so no row is repeated) and the
// type fields recomputed from the plaintext type.
func columnsSQL(v *CatalogView) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range v.ColumnsColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		q := quoteIdent(c)
		if e, ok := columnsPatches[c]; ok {
			b.WriteString("CASE WHEN pgseal_p.t IS NULL THEN pgseal_c." + q + " ELSE " + e + " END AS " + q)
			continue
		}
		b.WriteString("pgseal_c." + q)
	}
	b.WriteString(" FROM information_schema.columns pgseal_c LEFT JOIN (VALUES ")
	for i, p := range v.Attrs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + nameLit(p.Schema) + ", " + nameLit(p.Table) + ", " + nameLit(p.Column) + ", " +
			oidLit(p.TypeOID) + ", " + int4Lit(p.Typmod) + ")")
	}
	b.WriteString(") pgseal_p(s, r, n, t, m) ON pgseal_c.table_schema::pg_catalog.name OPERATOR(pg_catalog.=) pgseal_p.s" +
		" AND pgseal_c.table_name::pg_catalog.name OPERATOR(pg_catalog.=) pgseal_p.r" +
		" AND pgseal_c.column_name::pg_catalog.name OPERATOR(pg_catalog.=) pgseal_p.n)")
	return b.String()
}

// nameLit quotes a catalog name as an escape string constant, whatever
// standard_conforming_strings is.
func nameLit(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'::pg_catalog.name"
}

// int4Lit writes n so that the parser folds a minus sign into the constant (no operator lookup).
func int4Lit(n int32) string { return "(" + strconv.Itoa(int(n)) + ")::pg_catalog.int4" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
