package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/value"
)

// target is the validated column of a shadow-column migration, with the names of everything
// the migration creates.
type target struct {
	col      Column
	t        *tableInfo
	c        colInfo // the column
	pk       colInfo
	tenant   *colInfo
	indexes  []indexInfo
	hasCheck bool // pgseal's envelope CHECK is on the column (it is encrypted)
}

// Names of the objects a migration creates. The triggers are prefixed "zz" so that they fire
// after the application's own BEFORE triggers (PostgreSQL fires them in name order) and see the
// final value of the row.
func (g *target) shadowName() string         { return g.c.name + "__pgseal" }
func (g *target) checkName() string          { return column.CheckName(g.c.name) }
func (g *target) triggerIns() string         { return "zz_pgseal_" + g.c.name + "_ins" }
func (g *target) triggerUpd() string         { return "zz_pgseal_" + g.c.name + "_upd" }
func (g *target) staleFunc() string          { return fmt.Sprintf("pgseal.stale_%d_%d", g.t.oid, g.c.num) }
func (g *target) termExpr() string           { return "substring(" + q(g.c.name) + " from 24 for 16)" }
func (g *target) id() string                 { return g.t.qualified() + "." + g.c.name }
func (g *target) shadowCol() (colInfo, bool) { return g.t.column(g.shadowName()) }

// loadTarget reads the table and checks what every migration needs: the column exists, the table
// has a one-column primary key that is not the column, and the tenant column (if any) exists.
func loadTarget(ctx context.Context, conn *pgx.Conn, col Column, tenantColumn string) (*target, error) {
	g, err := inspectColumn(ctx, conn, col)
	if err != nil {
		return nil, err
	}
	return g, g.checkKeys(tenantColumn)
}

// inspectColumn reads the table, the column, its indexes and whether it carries the envelope
// CHECK, without requiring anything of the table.
func inspectColumn(ctx context.Context, conn *pgx.Conn, col Column) (*target, error) {
	t, err := loadTable(ctx, conn, col.Schema, col.Table)
	if err != nil {
		return nil, err
	}
	g := &target{col: col, t: t}
	var ok bool
	if g.c, ok = t.column(col.Name); !ok {
		return nil, fmt.Errorf("column %s does not exist in table %s: %w", col.Name, t.qualified(), errMissing)
	}
	if g.indexes, err = loadIndexes(ctx, conn, t, g.c.num); err != nil {
		return nil, err
	}
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
WHERE conrelid = $1 AND conname = $2 AND contype = 'c')`, t.oid, g.checkName()).Scan(&g.hasCheck)
	if err != nil {
		return nil, fmt.Errorf("read constraints of %s: %w", t.qualified(), err)
	}
	return g, nil
}

// checkKeys requires a one-column primary key other than the column, and the tenant column.
func (g *target) checkKeys(tenantColumn string) error {
	t, col := g.t, g.col
	switch {
	case len(t.pk) == 0:
		return fmt.Errorf("table %s has no primary key: the migration walks and updates rows by primary key", t.qualified())
	case len(t.pk) > 1:
		return fmt.Errorf("table %s has a composite primary key, which the migration does not support yet", t.qualified())
	}
	g.pk = t.byNum(t.pk[0])
	if g.pk.num == g.c.num {
		return fmt.Errorf("column %s is the primary key of %s and cannot be encrypted", col.Name, t.qualified())
	}
	if tenantColumn != "" {
		tc, ok := t.column(tenantColumn)
		if !ok {
			return fmt.Errorf("tenant column %s does not exist in table %s", tenantColumn, t.qualified())
		}
		if tc.num == g.c.num {
			return fmt.Errorf("the tenant column cannot be the column being encrypted")
		}
		g.tenant = &tc
	}
	return nil
}

// estimateRows counts the table's rows, or trusts the planner's estimate for large tables.
func estimateRows(ctx context.Context, conn *pgx.Conn, t *tableInfo) (int64, error) {
	var est float64
	if err := conn.QueryRow(ctx, `SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1`, t.oid).Scan(&est); err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	if est >= 1e6 {
		return int64(est), nil
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t.ident()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	return n, nil
}

// pgValueType maps a column's PostgreSQL type to the value.Type pgseal can encrypt.
func pgValueType(c colInfo) (value.Type, error) {
	if c.typCat == "A" {
		return 0, fmt.Errorf("column %s has type %s: arrays cannot be encrypted", c.name, c.fullType)
	}
	t, err := value.ParseType(c.typName)
	if err != nil {
		return 0, fmt.Errorf("column %s has type %s, which pgseal cannot encrypt", c.name, c.fullType)
	}
	return t, nil
}

// sendFunc returns the name of the binary output function of t (e.g. "textsend"); comparing
// send(x) compares the exact stored form, where "=" would call 1.0 and 1.00 equal.
func sendFunc(ctx context.Context, conn *pgx.Conn, t value.Type) (string, error) {
	var fn string
	if err := conn.QueryRow(ctx, `SELECT typsend::regproc::text FROM pg_catalog.pg_type WHERE oid = $1`, t.OID()).Scan(&fn); err != nil {
		return "", fmt.Errorf("look up the send function of %s: %w", t, err)
	}
	return fn, nil
}

// convertibleIndex reports whether ix can be rebuilt with the column replaced by an expression:
// a btree over plain columns, without predicate, expressions or INCLUDE columns.
func convertibleIndex(ix indexInfo) bool {
	return !ix.HasExpr && !ix.HasPred && strings.Contains(ix.Def, " USING btree (") && !strings.Contains(ix.Def, " INCLUDE (")
}

// indexWithKey builds CREATE [UNIQUE] INDEX name ON table (keys…) with the column num replaced
// by expr.
func indexWithKey(t *tableInfo, ix indexInfo, num int16, expr string) string {
	keys := make([]string, len(ix.Keys))
	for i, k := range ix.Keys {
		if k == num {
			keys[i] = "(" + expr + ")"
		} else {
			keys[i] = q(t.byNum(k).name)
		}
	}
	u := ""
	if ix.Unique {
		u = "UNIQUE "
	}
	return "CREATE " + u + "INDEX " + q(ix.Name) + " ON " + t.ident() + " (" + strings.Join(keys, ", ") + ")"
}

// dropIndexSQL drops an index, through its constraint when it backs one.
func dropIndexSQL(t *tableInfo, ix indexInfo) string {
	if ix.Constraint != "" {
		return "ALTER TABLE " + t.ident() + " DROP CONSTRAINT " + q(ix.Constraint)
	}
	return "DROP INDEX " + pgx.Identifier{t.schema, ix.Name}.Sanitize()
}
