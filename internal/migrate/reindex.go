package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
)

// opReindex is the reindex job's operation in pgseal.migration.
const opReindex = "reindex"

// ReindexOptions configure Reindex.
type ReindexOptions struct {
	Columns  []Column // the configured columns to visit (those without ord or match are skipped)
	Rate     int      // rows per second at most; 0 = as fast as possible
	Batch    int      // rows per batch and transaction; default 500
	Progress io.Writer
	// AfterBatch is called after each committed batch (tests stop runs with it).
	AfterBatch func(batches int)
}

// ReindexReport counts what Reindex did per column ("schema.table.column").
type ReindexReport struct {
	Columns map[string]int64    `json:"resealed"`                  // values re-sealed with their terms
	Indexes map[string][]string `json:"indexes_created,omitempty"` // index names created
	Skipped map[string]string   `json:"skipped,omitempty"`         // column -> why
	Seconds float64             `json:"seconds"`
}

// Reindex gives every value of each column with ord or match search the terms it lacks, then
// creates the column's ord and match indexes (docs/search.md §5) and tells running proxies.
// Values are selected in SQL by their flags byte (get_byte(c, 2) & mask <> mask), so an
// interrupted run simply continues; each is opened and sealed again with Column.Seal (every
// configured term, under the value's own keyset and that keyset's primary generation, as
// Reencrypt does), in batches written back only if the row still holds the old envelope.
// Passes repeat until one finds nothing; values still lacking terms then (a proxy without the
// search in its configuration is writing) are an error, and no index is created. Each missing
// index is built with CREATE INDEX CONCURRENTLY, after dropping an invalid leftover of an
// interrupted build, and pgseal_catalog is notified.
//
// The terms are computed under the index generation of the keyset's primary data generation, as
// the proxy's are; after keyset rotate-index, Reencrypt is what moves older values' terms to the
// new index keys (docs/crypto.md §6).
func Reindex(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, o ReindexOptions) (*ReindexReport, error) {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	rep := &ReindexReport{Columns: map[string]int64{}, Indexes: map[string][]string{}, Skipped: map[string]string{}}
	start := time.Now()
	if _, err := conn.Exec(ctx, setupSQL); err != nil {
		return nil, fmt.Errorf("reindex: create pgseal.migration: %w", err)
	}
	th := &throttle{rate: o.Rate, start: start}
	for _, col := range o.Columns {
		if !col.Ord && !col.Match {
			rep.Skipped[col.ID] = "no ord or match search"
			continue
		}
		x, why, err := prepareReindex(ctx, conn, col, o)
		if why != "" {
			rep.Skipped[col.ID] = why
			continue
		}
		if err == nil {
			err = x.run(ctx, conn, snap, th, rep)
		}
		if err != nil {
			return rep, fmt.Errorf("reindex %s: %w", col.ID, err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// reindexJob is one column of a reindex run.
type reindexJob struct {
	g     *target
	col   Column
	mask  int
	batch int
	prog  *progress
	after func(int)
}

// prepareReindex checks that the column can be reindexed; why says why it is skipped.
func prepareReindex(ctx context.Context, conn *pgx.Conn, col Column, o ReindexOptions) (*reindexJob, string, error) {
	g, err := loadTarget(ctx, conn, col, "")
	if errors.Is(err, errMissing) {
		return nil, err.Error(), nil // a configured table this database does not have
	}
	if err != nil {
		return nil, "", err
	}
	if g.c.typName != "bytea" {
		return nil, "not encrypted yet (proxy encrypt creates its indexes)", nil
	}
	if _, ok := g.shadowCol(); ok {
		return nil, "", fmt.Errorf("a proxy encrypt or decrypt of the column is in progress: finish it first")
	}
	return &reindexJob{g: g, col: col, mask: searchMask(col), batch: o.Batch,
		prog: newProgress(o.Progress, "reindex "+col.ID, 0), after: o.AfterBatch}, "", nil
}

// run re-seals the values that lack terms, checks that none is left, builds the indexes.
func (x *reindexJob) run(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, th *throttle, rep *ReindexReport) error {
	g := x.g
	release, err := acquireLock(ctx, conn, g.t.qualified(), g.c.name)
	if err != nil {
		return err
	}
	defer release()
	params, _ := json.Marshal(map[string]any{"ord": x.col.Ord, "match": x.col.Match, "eq": x.col.Eq})
	rec, err := loadRecord(ctx, conn, g.t.qualified(), g.c.name, opReindex)
	if err != nil {
		return err
	}
	if rec == nil || rec.phase == phaseDone || !sameParams(rec.options, params) {
		rec = &record{table: g.t.qualified(), column: g.c.name, op: opReindex, options: params, phase: phaseBackfill}
		if err := startRecord(ctx, conn, rec); err != nil {
			return err
		}
	}
	n, err := x.passes(ctx, conn, snap, rec, th)
	rep.Columns[x.col.ID] = n
	if err != nil {
		return err
	}
	left, err := countLacking(ctx, conn, g, x.mask)
	if err != nil {
		return err
	}
	if left > 0 {
		return fmt.Errorf("%d values written meanwhile still lack the %s terms: give every running proxy the column's search "+
			"configuration, then run proxy reindex again (no index was created)", left, searchList(x.col))
	}
	if _, err := conn.Exec(ctx, `UPDATE pgseal.migration SET phase = 'done', last_pk = NULL, updated_at = now()
WHERE table_name = $1 AND column_name = $2 AND operation = $3`, rec.table, rec.column, rec.op); err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	created, err := ensureSearchIndexes(ctx, conn, g, x.col, x.prog)
	if len(created) > 0 {
		rep.Indexes[x.col.ID] = created
	}
	return err
}

// passes runs batches until a pass from the start finds nothing (at most five passes); the first
// resumes after the recorded position of a killed run.
func (x *reindexJob) passes(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, rec *record, th *throttle) (int64, error) {
	var total int64
	batches := 0
	last, fromStart := rec.lastPK, rec.lastPK == nil
	for pass := 0; pass < 5; pass++ {
		found := 0
		for {
			res, err := x.batchTx(ctx, conn, snap, last, rec)
			if err != nil {
				return total, err
			}
			if res.read == 0 {
				break
			}
			last, found, total = res.last, found+res.read, total+int64(res.written)
			x.prog.add(int64(res.written))
			batches++
			if x.after != nil {
				x.after(batches)
			}
			if err := th.wait(ctx, int64(res.written)); err != nil {
				return total, err
			}
		}
		if fromStart && found == 0 {
			break
		}
		last, fromStart = nil, true
	}
	x.prog.finish()
	return total, nil
}
