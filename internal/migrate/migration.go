package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// migration runs the phases shared by Encrypt and Decrypt.
type migration struct {
	conn       *pgx.Conn
	g          *target
	job        *job
	o          Options
	rep        *Report
	op         string
	params     []byte
	shadowType string // type of the shadow column
	// cut returns the cut-over DDL (run after the final sweep, under the lock) and the indexes
	// it converts and drops, for the report and the progress record.
	cut func(m *migration) (stmts, converted, dropped []string, keep []indexInfo)
	// origType is recorded with the progress row (encrypt: the plaintext type, for decrypt).
	origType string
}

// setupStatements create the shadow column and the trigger that marks a row stale (shadow NULL)
// whenever its source value or tenant changes, and tell running pgseal sessions. Idempotent.
func (m *migration) setupStatements() []string {
	g, tbl := m.g, m.g.t.ident()
	shadow := q(g.shadowName())
	changed := m.job.sendOf("OLD") + " IS DISTINCT FROM " + m.job.sendOf("NEW")
	if g.tenant != nil {
		tc := q(g.tenant.name)
		changed += " OR OLD." + tc + "::text IS DISTINCT FROM NEW." + tc + "::text"
	}
	return []string{
		"ALTER TABLE " + tbl + " ADD COLUMN IF NOT EXISTS " + shadow + " " + m.shadowType,
		"CREATE OR REPLACE FUNCTION " + g.staleFunc() + "() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW." +
			shadow + " := NULL; RETURN NEW; END $f$",
		"DROP TRIGGER IF EXISTS " + q(g.triggerIns()) + " ON " + tbl,
		"CREATE TRIGGER " + q(g.triggerIns()) + " BEFORE INSERT ON " + tbl + " FOR EACH ROW WHEN (NEW." + shadow +
			" IS NOT NULL) EXECUTE FUNCTION " + g.staleFunc() + "()",
		"DROP TRIGGER IF EXISTS " + q(g.triggerUpd()) + " ON " + tbl,
		"CREATE TRIGGER " + q(g.triggerUpd()) + " BEFORE UPDATE ON " + tbl + " FOR EACH ROW WHEN (" + changed +
			") EXECUTE FUNCTION " + g.staleFunc() + "()",
		// Running pgseal sessions reload their catalog at once and hide the new shadow column,
		// instead of refusing their next SELECT * once with "schema changed".
		"SELECT pg_notify('pgseal_catalog', " + lit(g.id()) + ")",
	}
}

// sendOf is the exact-bytes expression of the source column of the row alias (OLD or NEW).
func (j *job) sendOf(alias string) string {
	return replaceAlias(j.sendExpr, `t."`, alias+`."`)
}

func (m *migration) run(ctx context.Context, start time.Time) error {
	g := m.g
	rec, err := loadRecord(ctx, m.conn, g.t.qualified(), g.c.name, m.op)
	if err != nil {
		return err
	}
	if rec != nil && rec.phase != phaseDone && !sameParams(rec.options, m.params) {
		return fmt.Errorf("a %s of this column with other options is in progress (%s): resume it with those", m.op, rec.options)
	}
	if m.rep.Rows, err = estimateRows(ctx, m.conn, g.t); err != nil {
		return err
	}
	setup := m.setupStatements()
	cut, converted, dropped, keep := m.cut(m)
	m.rep.ConvertedIndex, m.rep.DroppedIndex = converted, dropped
	if m.o.DryRun {
		m.rep.Statements = append(append(append([]string{setupSQL}, setup...),
			"-- backfill, "+itoa(int64(m.o.Batch))+" rows per transaction: "+m.job.selectSQL(true, false),
			"-- then: "+m.job.updateSQL()), cut...)
		m.rep.EstimatedSecs = float64(m.rep.Rows)/expectedRate + 1
		return nil
	}
	release, err := acquireLock(ctx, m.conn, g.t.qualified(), g.c.name)
	if err != nil {
		return err
	}
	defer release()
	if rec, err = loadRecord(ctx, m.conn, g.t.qualified(), g.c.name, m.op); err != nil {
		return err
	}
	m.rep.Resumed = rec != nil && rec.phase != phaseDone
	if !m.rep.Resumed {
		rec = &record{table: g.t.qualified(), column: g.c.name, op: m.op, options: m.params, phase: phaseBackfill}
	}
	if err := m.setup(ctx, setup, rec, !m.rep.Resumed); err != nil {
		return err
	}
	m.rep.Statements = setup
	m.job.rec, m.job.after = rec, m.o.AfterBatch
	if err := m.fill(ctx, rec, start); err != nil {
		return err
	}
	if err := m.cutover(ctx, cut, keep); err != nil {
		return err
	}
	m.rep.Statements = append(m.rep.Statements, cut...)
	m.rep.Seconds = time.Since(start).Seconds()
	return nil
}

// expectedRate is the backfill rate the dry run's estimate assumes (rows/s, measured on a
// 2-core machine; see bench_test.go).
const expectedRate = 20000

// setup runs the setup DDL (and starts the progress record) in one transaction, retried when
// its brief exclusive lock cannot be had within the lock timeout.
func (m *migration) setup(ctx context.Context, stmts []string, rec *record, fresh bool) error {
	if _, err := m.conn.Exec(ctx, setupSQL); err != nil {
		return fmt.Errorf("create pgseal.migration: %w", err)
	}
	return m.withLockRetry(ctx, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
		}
		if fresh {
			return startRecord(ctx, tx.Conn(), rec)
		}
		return nil
	}, nil)
}

// fill runs the backfill (unless done) and the catch-up sweeps.
func (m *migration) fill(ctx context.Context, rec *record, start time.Time) error {
	j := m.job
	j.prog = newProgress(m.o.Progress, m.op+" "+m.g.id(), m.rep.Rows)
	if j.prog != nil {
		j.prog.done = rec.done
	}
	if rec.phase == phaseBackfill {
		before, skipped := rec.done, rec.skipped
		t0 := time.Now()
		if err := j.backfill(ctx, m.conn); err != nil {
			return err
		}
		m.rep.Backfilled, m.rep.Skipped = rec.done-before, rec.skipped-skipped
		if el := time.Since(t0).Seconds(); el > 0 {
			m.rep.RowsPerSecond = float64(m.rep.Backfilled) / el
		}
		if _, err := m.conn.Exec(ctx, `UPDATE pgseal.migration SET phase = $4, updated_at = now()
WHERE table_name = $1 AND column_name = $2 AND operation = $3`, rec.table, rec.column, rec.op, phaseCatchUp); err != nil {
			return fmt.Errorf("record progress: %w", err)
		}
		rec.phase = phaseCatchUp
		j.prog.finish()
	}
	n, err := j.catchUp(ctx, m.conn, m.o.CatchUpThreshold, 10)
	m.rep.Swept += n
	if err != nil {
		return err
	}
	j.prog.logf("%s %s: caught up with %d changed rows", m.op, m.g.id(), n)
	return nil
}

// cutover takes the exclusive lock, converts the last stale rows, checks that none is left and
// runs the cut-over DDL, all in one transaction. A lock timeout is retried after another sweep.
func (m *migration) cutover(ctx context.Context, stmts []string, keep []indexInfo) error {
	g := m.g
	idx, _ := json.Marshal(keep)
	return m.withLockRetry(ctx, func(tx pgx.Tx) error {
		m.rep.LockAttempts++
		if _, err := tx.Exec(ctx, "LOCK TABLE "+g.t.ident()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		t0 := time.Now()
		n, err := m.job.sweepAll(ctx, tx)
		if err != nil {
			return err
		}
		m.rep.FinalSwept = n
		var left int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+g.t.ident()+" t WHERE t."+q(g.shadowName())+
			" IS NULL AND "+m.job.srcExpr+" IS NOT NULL").Scan(&left); err != nil {
			return err
		}
		if left != 0 {
			return fmt.Errorf("BUG: %d rows still unconverted under the exclusive lock", left)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("cut-over: %s: %w", firstWords(s), err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE pgseal.migration SET phase = $4, original_type = coalesce($5, original_type),
  indexes = coalesce($6, indexes), updated_at = now()
WHERE table_name = $1 AND column_name = $2 AND operation = $3`,
			g.t.qualified(), g.c.name, m.op, phaseDone, nullIfEmpty(m.origType), nullIfNullJSON(idx)); err != nil {
			return fmt.Errorf("record progress: %w", err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify('pgseal_catalog', $1)", g.id()); err != nil {
			return err
		}
		m.rep.CutoverMillis = time.Since(t0).Milliseconds()
		return nil
	}, func(ctx context.Context) error {
		n, err := m.job.catchUp(ctx, m.conn, m.o.CatchUpThreshold, 1)
		m.rep.Swept += n
		return err
	})
}

// withLockRetry runs fn in a transaction with lock_timeout set, retrying (after between, if
// given) when a lock could not be had in time.
func (m *migration) withLockRetry(ctx context.Context, fn func(pgx.Tx) error, between func(context.Context) error) error {
	var err error
	for attempt := 0; attempt <= m.o.LockRetries; attempt++ {
		err = pgx.BeginFunc(ctx, m.conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", m.o.LockTimeout.Milliseconds())); err != nil {
				return err
			}
			return fn(tx)
		})
		if err == nil || !isCode(err, sqlstate.LockNotAvailable, sqlstate.DeadlockDetected) {
			return err
		}
		m.job.prog.logf("%s %s: lock not granted within %s, retrying", m.op, m.g.id(), m.o.LockTimeout)
		if between != nil {
			if err := between(ctx); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("could not lock %s within %s after %d attempts: %w", m.g.t.qualified(), m.o.LockTimeout, m.o.LockRetries+1, err)
}
