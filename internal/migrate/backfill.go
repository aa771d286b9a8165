package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// srcRow is one row read by a batch: primary key as text, the source value in binary (nil for
// NULL) and the tenant as text (nil for NULL or without a tenant column).
type srcRow struct {
	pk     string
	src    []byte
	tenant *string
}

// job is one shadow-column migration: read the source column in primary-key order, convert each
// value (encrypt or decrypt) and write it to the shadow column, but only where the source still
// holds exactly the bytes that were read.
type job struct {
	t        *tableInfo
	table    string // quoted schema.table
	pk       string // quoted primary key column
	pkType   string // its format_type
	srcExpr  string // the source value over alias t, as read (may include a cast)
	sendExpr string // the exact binary identity of srcExpr over alias t
	tenant   string // quoted tenant column, "" without one
	shadow   string // quoted shadow column
	setExpr  string // value written into the shadow, over alias v (column val)
	valArray string // SQL array type of the converted values: "bytea[]" or "text[]"
	textOut  bool   // convert returns text (sent as text[]) rather than bytes
	convert  func(r *srcRow) ([]byte, error)
	batch    int
	rec      *record // progress row to advance with each backfill batch; nil for sweeps
	prog     *progress
	after    func(batches int) // called after each committed batch (tests stop runs with it)
	batches  int
}

// selectSQL reads one batch: after a primary key (or from the start), optionally only stale
// rows (source not NULL, shadow NULL).
func (j *job) selectSQL(after, staleOnly bool) string {
	s := "SELECT t." + j.pk + "::text, " + j.srcExpr
	if j.tenant != "" {
		s += ", t." + j.tenant + "::text"
	}
	s += " FROM " + j.table + " t WHERE true"
	if after {
		s += " AND t." + j.pk + " > $1::" + j.pkType
	}
	if staleOnly {
		s += " AND t." + j.shadow + " IS NULL AND " + j.srcExpr + " IS NOT NULL"
	}
	return s + " ORDER BY t." + j.pk + fmt.Sprintf(" LIMIT %d", j.batch)
}

// updateSQL writes a batch with a compare-and-set on the source's exact bytes (and tenant).
func (j *job) updateSQL() string {
	cols, arrays := "pk, val, orig", "$1::text[]::"+j.pkType+"[], $2::"+j.valArray+", $3::bytea[]"
	cond := "t." + j.pk + " = v.pk AND " + j.sendExpr + " = v.orig"
	if j.tenant != "" {
		cols, arrays = cols+", tenant", arrays+", $4::text[]"
		cond += " AND t." + j.tenant + "::text IS NOT DISTINCT FROM v.tenant"
	}
	return "UPDATE " + j.table + " t SET " + j.shadow + " = " + j.setExpr +
		" FROM unnest(" + arrays + ") AS v(" + cols + ") WHERE " + cond
}

// batchResult says what one batch did.
type batchResult struct {
	read, written, skipped int
	last                   *string
}

// runBatch reads, converts and writes one batch inside tx.
func (j *job) runBatch(ctx context.Context, tx pgx.Tx, last *string, staleOnly bool) (batchResult, error) {
	var params [][]byte
	if last != nil {
		params = [][]byte{[]byte(*last)}
	}
	formats := []int16{0, 1}
	if j.tenant != "" {
		formats = append(formats, 0)
	}
	rr := tx.Conn().PgConn().ExecParams(ctx, j.selectSQL(last != nil, staleOnly), params, nil, nil, formats).Read()
	if rr.Err != nil {
		return batchResult{}, fmt.Errorf("read batch: %w", rr.Err)
	}
	res := batchResult{read: len(rr.Rows)}
	if res.read == 0 {
		return res, nil
	}
	b, err := j.convertRows(rr.Rows)
	if err != nil {
		return res, err
	}
	lastPK := string(rr.Rows[len(rr.Rows)-1][0])
	res.last = &lastPK
	if len(b.pks) > 0 {
		if res.written, err = j.writeBatch(ctx, tx, &b); err != nil {
			return res, err
		}
		res.skipped = len(b.pks) - res.written
	}
	return res, nil
}

// batchRows are the converted values of a batch's non-NULL rows, as the update's arrays.
type batchRows struct {
	pks     []string
	vals    [][]byte // converted values (bytea), unless the job writes text
	texts   []string // converted values, when it does
	origs   [][]byte // the source values read, for the update's staleness check
	tenants []*string
}

// convertRows converts the rows of a batch (pk, source value[, tenant]); NULLs stay NULL.
func (j *job) convertRows(rows [][][]byte) (batchRows, error) {
	b := batchRows{pks: make([]string, 0, len(rows)), origs: make([][]byte, 0, len(rows))}
	for _, row := range rows {
		r := srcRow{pk: string(row[0]), src: row[1]}
		if j.tenant != "" && row[2] != nil {
			s := string(row[2])
			r.tenant = &s
		}
		if r.src == nil {
			continue // NULL stays NULL: the shadow is already NULL
		}
		v, err := j.convert(&r)
		if err != nil {
			return b, fmt.Errorf("row with primary key %s: %w", r.pk, err)
		}
		b.pks, b.origs = append(b.pks, r.pk), append(b.origs, r.src)
		if j.textOut {
			b.texts = append(b.texts, string(v))
		} else {
			b.vals = append(b.vals, v)
		}
		if j.tenant != "" {
			b.tenants = append(b.tenants, r.tenant)
		}
	}
	return b, nil
}

// writeBatch writes a batch's converted values and returns how many rows it changed.
func (j *job) writeBatch(ctx context.Context, tx pgx.Tx, b *batchRows) (int, error) {
	args := []any{b.pks, any(b.vals), b.origs}
	if j.textOut {
		args[1] = b.texts
	}
	if j.tenant != "" {
		args = append(args, b.tenants)
	}
	tag, err := tx.Exec(ctx, j.updateSQL(), args...)
	if err != nil {
		return 0, fmt.Errorf("write batch: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// backfill walks the whole table from the recorded position, one transaction per batch, and
// records the position in the same transaction, so a killed run resumes where it stopped.
func (j *job) backfill(ctx context.Context, conn *pgx.Conn) error {
	last := j.rec.lastPK
	for {
		var res batchResult
		err := retrySerialization(ctx, func() error {
			return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				var err error
				if res, err = j.runBatch(ctx, tx, last, false); err != nil || res.read == 0 {
					return err
				}
				_, err = tx.Exec(ctx, `UPDATE pgseal.migration SET last_pk = $4, rows_done = rows_done + $5,
  rows_skipped = rows_skipped + $6, updated_at = now()
WHERE table_name = $1 AND column_name = $2 AND operation = $3`,
					j.rec.table, j.rec.column, j.rec.op, *res.last, res.read, res.skipped)
				return err
			})
		})
		if err != nil {
			return err
		}
		if res.read == 0 {
			return nil
		}
		last = res.last
		j.rec.lastPK, j.rec.done, j.rec.skipped = last, j.rec.done+int64(res.read), j.rec.skipped+int64(res.skipped)
		j.prog.add(int64(res.read))
		j.batches++
		if j.after != nil {
			j.after(j.batches)
		}
	}
}

// sweep converts every stale row once, in batches of their own transactions, and returns how
// many it wrote and how many it had to skip again (changed meanwhile).
func (j *job) sweep(ctx context.Context, conn *pgx.Conn) (written, skipped int64, err error) {
	var last *string
	for {
		var res batchResult
		err := retrySerialization(ctx, func() error {
			return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				var err error
				res, err = j.runBatch(ctx, tx, last, true)
				return err
			})
		})
		if err != nil {
			return written, skipped, err
		}
		if res.read == 0 {
			return written, skipped, nil
		}
		last, written, skipped = res.last, written+int64(res.written), skipped+int64(res.skipped)
	}
}

// sweepAll converts every stale row inside tx (the cut-over holds an exclusive lock, so nothing
// can change underneath).
func (j *job) sweepAll(ctx context.Context, tx pgx.Tx) (int64, error) {
	var last *string
	var n int64
	for {
		res, err := j.runBatch(ctx, tx, last, true)
		if err != nil {
			return n, err
		}
		if res.read == 0 {
			return n, nil
		}
		if res.skipped > 0 {
			return n, fmt.Errorf("BUG: %d rows changed under an exclusive lock", res.skipped)
		}
		last, n = res.last, n+int64(res.written)
	}
}

// catchUp sweeps until one sweep finds at most threshold stale rows, or maxSweeps ran.
func (j *job) catchUp(ctx context.Context, conn *pgx.Conn, threshold int64, maxSweeps int) (int64, error) {
	var total int64
	for i := 0; i < maxSweeps; i++ {
		w, s, err := j.sweep(ctx, conn)
		total += w
		if err != nil {
			return total, err
		}
		if w+s <= threshold {
			return total, nil
		}
	}
	return total, nil
}

// retrySerialization retries fn on deadlocks and serialization failures (a concurrent writer
// holding row locks in another order), a few times with a short pause.
func retrySerialization(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = fn(); err == nil || !isCode(err, sqlstate.DeadlockDetected, sqlstate.SerializationFailure) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return err
}
