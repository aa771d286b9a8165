// Package catalog resolves the configured encrypted columns in one database: which tables exist,
// their full column lists (rewrite needs them to expand `*` and INSERTs without a column list), the
// table OIDs and attribute numbers (RowDescription names a result column's origin by them), the
// migration tool's shadow columns (hidden from applications), and the check that every encrypted
// column really is bytea.
//
// Build is pure (rows in, Info out) so the proxy can run Query over its own upstream connection
// and the command-line tools over pgx; Load does the latter.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
	// Types gives each encrypted column's plaintext type, by column ID.
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
}

// ShadowSuffix ends the name of a migration's shadow column.
const ShadowSuffix = "__pgseal"

// Row is one line of Query's result: schema, table, table OID, column, attnum, type.
type Row struct {
	Schema, Table string
	TableOID      uint32
	Column        string
	Number        int16
	Type          string
}

// Query lists every column of the given tables ("schema.table"), in attnum order. Its result
// columns match Row.
func Query(tables []string) string {
	var vals []string
	for _, t := range tables {
		s, n, _ := strings.Cut(t, ".")
		vals = append(vals, "("+quote(s)+","+quote(n)+")")
	}
	return `SELECT n.nspname, c.relname, c.oid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE (n.nspname, c.relname) IN (VALUES ` + strings.Join(vals, ",") + `)
ORDER BY 1, 2, a.attnum`
}

// Tables returns the distinct "schema.table" names of cols.
func Tables(cols []config.Encrypt) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cols {
		t := strings.ToLower(c.QualifiedTable())
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Build checks cols against the catalog rows and returns the Info. Every problem is reported:
// a missing table or column, an unknown type, equality search on a type without it. A column that
// is not bytea is not an error: it is Pending (see Info).
func Build(cols []config.Encrypt, rows []Row) (*Info, error) {
	info := &Info{
		Schema:      &rewrite.Schema{SearchPath: []string{"public"}, Tables: map[string]*rewrite.Table{}},
		ByAttr:      map[Attr]*rewrite.Column{},
		Types:       map[string]value.Type{},
		Pending:     map[string]string{},
		PendingAttr: map[Attr]string{},
		Shadow:      map[Attr]string{},
		Columns:     map[Attr]string{},
		Tables:      map[uint32]string{},
	}
	byCol := map[string]Row{}
	for _, r := range rows {
		key := r.Schema + "." + r.Table
		t := info.Schema.Tables[key]
		if t == nil {
			t = &rewrite.Table{Schema: r.Schema, Name: r.Table, Encrypted: map[string]*rewrite.Column{}}
			info.Schema.Tables[key] = t
		}
		t.Columns = append(t.Columns, r.Column)
		byCol[key+"."+r.Column] = r
		info.Columns[Attr{r.TableOID, r.Number}] = r.Column
		info.Tables[r.TableOID] = key
	}
	var errs []error
	for _, c := range cols {
		table := strings.ToLower(c.QualifiedTable())
		column := strings.ToLower(c.Column)
		id := table + "." + column
		typ, err := value.ParseType(c.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("encrypt %s: type %q: %w", id, c.Type, err))
			continue
		}
		r, ok := byCol[id]
		if sh, found := byCol[id+ShadowSuffix]; found {
			info.Shadow[Attr{sh.TableOID, sh.Number}] = id
		}
		switch {
		case info.Schema.Tables[table] == nil:
			errs = append(errs, fmt.Errorf("encrypt %s: table %s does not exist", id, table))
			continue
		case !ok:
			errs = append(errs, fmt.Errorf("encrypt %s: column %s does not exist", id, column))
			continue
		case r.Type != "bytea":
			info.Pending[id] = r.Type
			info.PendingAttr[Attr{r.TableOID, r.Number}] = id
			continue
		}
		if c.HasEq() && !typ.SupportsEquality() {
			errs = append(errs, fmt.Errorf("encrypt %s: type %s has no equality search", id, typ))
			continue
		}
		domain := c.Domain
		if domain == "" {
			domain = id
		}
		col := &rewrite.Column{Table: table, Name: column, Type: typ.String(), Eq: c.HasEq(), Domain: domain, ID: id}
		info.Schema.Tables[table].Encrypted[column] = col
		info.ByAttr[Attr{r.TableOID, r.Number}] = col
		info.Types[id] = typ
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Tables with no encrypted column need not be known to rewrite.
	for k, t := range info.Schema.Tables {
		if len(t.Encrypted) == 0 {
			delete(info.Schema.Tables, k)
		}
	}
	return info, nil
}

// Load runs Query on conn and builds the Info.
func Load(ctx context.Context, conn *pgx.Conn, cols []config.Encrypt) (*Info, error) {
	if len(cols) == 0 {
		return Build(nil, nil)
	}
	rows, err := conn.Query(ctx, Query(Tables(cols)), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	var out []Row
	for rows.Next() {
		var r Row
		var oid, num string
		if err := rows.Scan(&r.Schema, &r.Table, &oid, &r.Column, &num, &r.Type); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		if r, err = ParseRow(r.Schema, r.Table, oid, r.Column, num, r.Type); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return Build(cols, out)
}

// ParseRow builds a Row from Query's text-format fields.
func ParseRow(schema, table, oid, column, num, typ string) (Row, error) {
	o, err1 := strconv.ParseUint(oid, 10, 32)
	n, err2 := strconv.ParseInt(num, 10, 16)
	if err := errors.Join(err1, err2); err != nil {
		return Row{}, fmt.Errorf("read catalog: unexpected row: %w", err)
	}
	return Row{Schema: schema, Table: table, TableOID: uint32(o), Column: column, Number: int16(n), Type: typ}, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
