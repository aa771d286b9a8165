package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// Operations recorded in pgseal.migration.
const (
	opEncrypt   = "encrypt"
	opDecrypt   = "decrypt"
	opReencrypt = "reencrypt"
)

// Phases of a shadow-column migration.
const (
	phaseBackfill = "backfill" // walking the table by primary key
	phaseCatchUp  = "catchup"  // backfill done; sweeping rows changed since
	phaseDone     = "done"     // cut over
)

// setupSQL creates the schema and progress table. It is idempotent.
const setupSQL = `CREATE SCHEMA IF NOT EXISTS pgseal;
CREATE TABLE IF NOT EXISTS pgseal.migration (
  table_name    text NOT NULL,
  column_name   text NOT NULL,
  operation     text NOT NULL,
  options       jsonb NOT NULL,
  phase         text NOT NULL,
  last_pk       text,
  rows_done     bigint NOT NULL DEFAULT 0,
  rows_skipped  bigint NOT NULL DEFAULT 0,
  original_type text,
  indexes       jsonb,
  started_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_name, column_name, operation))`

// record is one row of pgseal.migration.
type record struct {
	table, column, op string
	options           json.RawMessage
	phase             string
	lastPK            *string
	done, skipped     int64
	origType          *string
	indexes           []indexInfo
}

// loadRecord returns the migration record, or nil when there is none (or no progress table yet).
func loadRecord(ctx context.Context, conn *pgx.Conn, table, column, op string) (*record, error) {
	r := &record{table: table, column: column, op: op}
	var idx []byte
	err := conn.QueryRow(ctx, `SELECT options, phase, last_pk, rows_done, rows_skipped, original_type, indexes
FROM pgseal.migration WHERE table_name = $1 AND column_name = $2 AND operation = $3`, table, column, op).
		Scan(&r.options, &r.phase, &r.lastPK, &r.done, &r.skipped, &r.origType, &idx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case isCode(err, sqlstate.UndefinedTable, sqlstate.InvalidSchemaName):
		return nil, nil // no progress table yet
	case err != nil:
		return nil, fmt.Errorf("read migration progress: %w", err)
	}
	if len(idx) > 0 {
		if err := json.Unmarshal(idx, &r.indexes); err != nil {
			return nil, fmt.Errorf("read migration progress: indexes: %w", err)
		}
	}
	return r, nil
}

// startRecord (re)starts the record of a migration: a new row, or a done one reset.
func startRecord(ctx context.Context, conn *pgx.Conn, r *record) error {
	_, err := conn.Exec(ctx, `INSERT INTO pgseal.migration (table_name, column_name, operation, options, phase)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (table_name, column_name, operation) DO UPDATE SET options = EXCLUDED.options,
  phase = EXCLUDED.phase, last_pk = NULL, rows_done = 0, rows_skipped = 0, started_at = now(), updated_at = now()`,
		r.table, r.column, r.op, string(r.options), r.phase)
	if err != nil {
		return fmt.Errorf("record migration progress: %w", err)
	}
	return nil
}

// lockKey is the advisory lock that keeps two runs off the same column.
func lockKey(table, column string) string { return "pgseal migrate " + table + "." + column }

// acquireLock takes a session advisory lock for the column or fails at once.
func acquireLock(ctx context.Context, conn *pgx.Conn, table, column string) (release func(), err error) {
	var ok bool
	key := lockKey(table, column)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, key).Scan(&ok); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("another migration of %s.%s is running", table, column)
	}
	return func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext($1))`, key)
	}, nil
}

// isCode reports whether err is a PostgreSQL error with one of the SQLSTATEs.
func isCode(err error, codes ...string) bool {
	return sqlstate.IsServer(err, codes...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
