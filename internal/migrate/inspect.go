package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tableInfo is what the catalog says about the table being migrated.
type tableInfo struct {
	oid          uint32
	schema, name string
	cols         []colInfo // in attnum order
	pk           []int16   // attnums of the primary key
}

// colInfo is one column of the table.
type colInfo struct {
	num        int16
	name       string
	fullType   string // format_type with typmod, e.g. "character varying(255)"
	typName    string // pg_type.typname, e.g. "varchar"
	typCat     string // pg_type.typcategory
	hasDefault bool
	generated  bool
	notNull    bool
}

// indexInfo is one index that involves the column being migrated.
type indexInfo struct {
	Name       string  `json:"name"`
	Unique     bool    `json:"unique"`
	Constraint string  `json:"constraint,omitempty"` // name of the UNIQUE/PK constraint it backs
	Def        string  `json:"def"`                  // pg_get_indexdef
	ConDef     string  `json:"condef,omitempty"`     // pg_get_constraintdef
	Keys       []int16 `json:"keys"`                 // indkey (0 = expression)
	HasExpr    bool    `json:"has_expr"`
	HasPred    bool    `json:"has_pred"`
}

func (t *tableInfo) qualified() string { return t.schema + "." + t.name }

func (t *tableInfo) ident() string { return pgx.Identifier{t.schema, t.name}.Sanitize() }

func (t *tableInfo) column(name string) (colInfo, bool) {
	for _, c := range t.cols {
		if c.name == name {
			return c, true
		}
	}
	return colInfo{}, false
}

func (t *tableInfo) byNum(n int16) colInfo {
	for _, c := range t.cols {
		if c.num == n {
			return c
		}
	}
	return colInfo{}
}

// errMissing marks a table or column that does not exist.
var errMissing = errors.New("not found in the database")

// q quotes one identifier.
func q(name string) string { return pgx.Identifier{name}.Sanitize() }

// lit quotes a string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// loadTable reads the table's columns and primary key. A missing table is a one-line error.
func loadTable(ctx context.Context, conn *pgx.Conn, schema, name string) (*tableInfo, error) {
	t := &tableInfo{schema: schema, name: name}
	err := conn.QueryRow(ctx, `SELECT c.oid FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, name).Scan(&t.oid)
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("table %s does not exist: %w", t.qualified(), errMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", t.qualified(), err)
	}
	rows, err := conn.Query(ctx, `SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), ty.typname,
  ty.typcategory::text, a.atthasdef, a.attgenerated <> '', a.attnotnull
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, t.oid)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t.qualified(), err)
	}
	for rows.Next() {
		var c colInfo
		if err := rows.Scan(&c.num, &c.name, &c.fullType, &c.typName, &c.typCat, &c.hasDefault, &c.generated, &c.notNull); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", t.qualified(), err)
		}
		t.cols = append(t.cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t.qualified(), err)
	}
	err = conn.QueryRow(ctx, `SELECT conkey FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'p'`, t.oid).Scan(&t.pk)
	if err != nil && err != pgx.ErrNoRows {
		return nil, fmt.Errorf("read primary key of %s: %w", t.qualified(), err)
	}
	return t, nil
}

// loadIndexes lists the indexes that depend on column num (as a key or inside an expression or
// predicate).
func loadIndexes(ctx context.Context, conn *pgx.Conn, t *tableInfo, num int16) ([]indexInfo, error) {
	rows, err := conn.Query(ctx, `SELECT ic.relname, i.indisunique, coalesce(con.conname, ''),
  pg_get_indexdef(i.indexrelid), coalesce(pg_get_constraintdef(con.oid), ''), i.indkey::int2[],
  i.indexprs IS NOT NULL, i.indpred IS NOT NULL
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('u', 'p', 'x')
WHERE i.indrelid = $1 AND ($2 = ANY(i.indkey::int2[]) OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2))
ORDER BY ic.relname`, t.oid, num)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", t.qualified(), err)
	}
	var out []indexInfo
	for rows.Next() {
		var ix indexInfo
		if err := rows.Scan(&ix.Name, &ix.Unique, &ix.Constraint, &ix.Def, &ix.ConDef, &ix.Keys, &ix.HasExpr, &ix.HasPred); err != nil {
			return nil, fmt.Errorf("read indexes of %s: %w", t.qualified(), err)
		}
		out = append(out, ix)
	}
	return out, rows.Err()
}

// blockers lists what would stop ALTER COLUMN … TYPE or make it unsafe: foreign keys, CHECK
// constraints other than pgseal's own, views and rules. Each is named in the error.
func blockers(ctx context.Context, conn *pgx.Conn, t *tableInfo, num int16, ownCheck string) error {
	var names []string
	rows, err := conn.Query(ctx, `SELECT CASE contype WHEN 'f' THEN 'foreign key ' ELSE 'check constraint ' END || conname
FROM pg_catalog.pg_constraint
WHERE ((conrelid = $1 AND $2 = ANY(conkey) AND contype IN ('f', 'c') AND conname <> $3)
    OR (confrelid = $1 AND $2 = ANY(confkey) AND contype = 'f'))
UNION ALL
SELECT DISTINCT 'view or rule ' || r.ev_class::regclass::text
FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refobjid = $1 AND d.refobjsubid = $2
ORDER BY 1`, t.oid, num, ownCheck)
	if err != nil {
		return fmt.Errorf("read dependencies of %s: %w", t.qualified(), err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(names) > 0 {
		slices.Sort(names)
		return fmt.Errorf("column is used by %s: drop or change it first", strings.Join(names, ", "))
	}
	return nil
}
