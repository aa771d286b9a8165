package migrate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
)

// The envelope CHECK's definition, its states and the query that reads them are
// internal/column's (envcheck.go); the proxy reads them too.

// Envelope CHECK states reported by Status and handled by Protect (column.Check*).
const (
	CheckOK           = column.CheckOK
	CheckMissing      = column.CheckMissing
	CheckOutdated     = column.CheckOutdated
	CheckNotValidated = column.CheckNotValidated
)

// commentCheckSQL marks the constraint as the current definition.
func commentCheckSQL(g *target) string {
	return "COMMENT ON CONSTRAINT " + q(g.checkName()) + " ON " + g.t.ident() + " IS " + lit(column.CheckComment)
}

// checkState reads the state of the column's envelope CHECK.
func checkState(ctx context.Context, conn *pgx.Conn, g *target) (string, error) {
	var validated bool
	var comment string
	err := conn.QueryRow(ctx, `SELECT con.convalidated, coalesce(pg_catalog.obj_description(con.oid, 'pg_constraint'), '')
FROM pg_catalog.pg_constraint con WHERE con.conrelid = $1 AND con.conname = $2 AND con.contype = 'c'`,
		g.t.oid, g.checkName()).Scan(&validated, &comment)
	switch {
	case err == pgx.ErrNoRows:
		return CheckMissing, nil
	case err != nil:
		return "", fmt.Errorf("read the envelope check of %s: %w", g.id(), err)
	case comment != column.CheckComment:
		return CheckOutdated, nil
	case !validated:
		return CheckNotValidated, nil
	}
	return CheckOK, nil
}

// countViolations counts the rows whose value the current CHECK would refuse (never their values).
func countViolations(ctx context.Context, conn *pgx.Conn, g *target) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, "SELECT count(*) FROM "+g.t.ident()+" WHERE NOT ("+column.CheckExpr(q(g.c.name))+")").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count values of %s that are not envelopes: %w", g.id(), err)
	}
	return n, nil
}

// EnvelopeChecksNotOK runs column.EnvelopeCheckQuery on conn and returns column id -> state for every
// configured bytea column whose CHECK is not CheckOK.
func EnvelopeChecksNotOK(ctx context.Context, conn *pgx.Conn, cols []Column) (map[string]string, error) {
	rows, err := conn.Query(ctx, column.EnvelopeCheckQuery(cols))
	if err != nil {
		return nil, fmt.Errorf("read envelope checks: %w", err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			return nil, fmt.Errorf("read envelope checks: %w", err)
		}
		if state != CheckOK {
			out[id] = state
		}
	}
	return out, rows.Err()
}
