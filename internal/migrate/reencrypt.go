package migrate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
)

// ReencryptOptions configure Reencrypt.
type ReencryptOptions struct {
	Keyset   string   // name or UUID of the rotated keyset
	Columns  []Column // the configured columns to visit
	Rate     int      // rows per second at most; 0 = as fast as possible
	Batch    int      // rows per batch and transaction; default 500
	Progress io.Writer
	// AfterBatch is called after each committed batch (tests stop runs with it).
	AfterBatch func(batches int)
}

// ReencryptReport counts what Reencrypt did per column ("schema.table.column").
type ReencryptReport struct {
	Keyset     string            `json:"keyset"`
	Generation uint32            `json:"generation"`
	Suite      string            `json:"suite"` // the suite values were moved to
	Columns    map[string]int64  `json:"reencrypted"`
	Skipped    map[string]string `json:"skipped,omitempty"` // column -> why (not encrypted, no table)
	// IndexRotating: the keyset rotates its index keys (keyset rotate-index), so its searches stay
	// refused until every generation older than the primary's index keys is retired.
	IndexRotating bool    `json:"index_rotating,omitempty"`
	Seconds       float64 `json:"seconds"`
}

// Reencrypt moves every value of the keyset that is under another data generation or another
// suite than the configured one (snap's suite) to the primary generation and that suite: open
// with the generation and suite in its header, seal under the primary generation with the
// same terms (so lookups and UNIQUE keep working throughout a data rotation), or with terms
// computed again when the primary generation has new index keys (keyset rotate-index, during
// which the proxies refuse statements using the keyset's terms), and write it back only if the
// row still holds the old envelope. Rows are selected in SQL from
// the header bytes, so the job is idempotent; its position is also recorded per column in
// pgseal.migration, so a killed run does not rescan. Passes repeat until one finds nothing
// (values written meanwhile by a proxy that had not yet loaded the new generation).
func Reencrypt(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, o ReencryptOptions) (*ReencryptReport, error) {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	ks, ok := snap.Keyset(o.Keyset)
	if !ok {
		return nil, fmt.Errorf("reencrypt: keyset %q does not exist", o.Keyset)
	}
	rep := &ReencryptReport{Keyset: ks.Name, Generation: ks.PrimaryGeneration(), Suite: crypto.SuiteName(ks.Suite()),
		Columns: map[string]int64{}, Skipped: map[string]string{}, IndexRotating: ks.IndexRotating()}
	start := time.Now()
	if _, err := conn.Exec(ctx, setupSQL); err != nil {
		return nil, fmt.Errorf("reencrypt: create pgseal.migration: %w", err)
	}
	th := &throttle{rate: o.Rate, start: start}
	for _, col := range o.Columns {
		if _, err := ks.PrimaryColumnKey(col.ID); err != nil {
			return rep, fmt.Errorf("reencrypt %s: %w", col.ID, err)
		}
		n, why, err := reencryptColumn(ctx, conn, snap, ks, col, o, th)
		rep.Columns[col.ID] = n
		if why != "" {
			rep.Skipped[col.ID] = why
		}
		if err != nil {
			return rep, fmt.Errorf("reencrypt %s: %w", col.ID, err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// rcol is one column of a reencrypt run.
type rcol struct {
	t     *tableInfo
	pk    colInfo
	col   Column
	ks    *keyring.Keyset
	gen   []byte // primary generation, 4 bytes big-endian as in the header
	suite []byte // the configured suite byte, as in the header
	batch int
}

func reencryptColumn(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, ks *keyring.Keyset, col Column, o ReencryptOptions, th *throttle) (int64, string, error) {
	g, err := loadTarget(ctx, conn, col, "")
	if err != nil {
		return 0, err.Error(), nil // e.g. a configured table this database does not have
	}
	if g.c.typName != "bytea" {
		return 0, "not encrypted yet", nil
	}
	release, err := acquireLock(ctx, conn, g.t.qualified(), g.c.name)
	if err != nil {
		return 0, "", err
	}
	defer release()
	r := &rcol{t: g.t, pk: g.pk, col: col, ks: ks, gen: binary.BigEndian.AppendUint32(nil, ks.PrimaryGeneration()), suite: []byte{ks.Suite()}, batch: o.Batch}
	rec, err := reencryptRecord(ctx, conn, g, ks)
	if err != nil {
		return 0, "", err
	}
	prog := newProgress(o.Progress, "reencrypt "+col.ID, 0)
	var total int64
	batches := 0
	// The first pass resumes where a killed run stopped; later passes start from the beginning
	// and the job ends when one of those finds nothing left.
	last, fromStart := rec.lastPK, rec.lastPK == nil
	for pass := 0; pass < 5; pass++ {
		found := int64(0)
		for {
			res, err := r.batchTx(ctx, conn, snap, last, rec)
			if err != nil {
				return total, "", err
			}
			if res.read == 0 {
				break
			}
			last, found, total = res.last, found+int64(res.read), total+int64(res.written)
			prog.add(int64(res.written))
			batches++
			if o.AfterBatch != nil {
				o.AfterBatch(batches)
			}
			if err := th.wait(ctx, int64(res.written)); err != nil {
				return total, "", err
			}
		}
		if fromStart && found == 0 {
			break
		}
		last, fromStart = nil, true
	}
	prog.finish()
	_, err = conn.Exec(ctx, `UPDATE pgseal.migration SET phase = 'done', last_pk = NULL, updated_at = now()
WHERE table_name = $1 AND column_name = $2 AND operation = $3`, rec.table, rec.column, rec.op)
	return total, "", err
}

// reencryptRecord returns the job's progress record: the one a killed run of the same job left,
// or a new one (a finished job, or one for another keyset, generation or suite, starts over).
func reencryptRecord(ctx context.Context, conn *pgx.Conn, g *target, ks *keyring.Keyset) (*record, error) {
	params := reencryptParams(ks)
	rec, err := loadRecord(ctx, conn, g.t.qualified(), g.c.name, opReencrypt)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.phase == phaseDone || !sameParams(rec.options, params) {
		rec = &record{table: g.t.qualified(), column: g.c.name, op: opReencrypt, options: params, phase: phaseBackfill}
		if err := startRecord(ctx, conn, rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// reencryptParams identify a reencrypt job: keyset, target generation and target suite, so that
// a rotation or a change of [crypto] suite restarts a resumed run instead of continuing it.
func reencryptParams(ks *keyring.Keyset) []byte {
	params, _ := json.Marshal(map[string]any{"keyset": ks.UUID.String(), "generation": ks.PrimaryGeneration(), "suite": ks.Suite()})
	return params
}

// batchTx re-seals one batch and records the position, in one transaction.
func (r *rcol) batchTx(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, last *string, rec *record) (batchResult, error) {
	return recordedBatch(ctx, conn, rec, func(tx pgx.Tx) (batchResult, error) { return r.batch1(ctx, tx, snap, last) })
}

// recordedBatch runs batch and records the position it reached, in one transaction retried on a
// serialization failure (reencrypt's and reindex's batches).
func recordedBatch(ctx context.Context, conn *pgx.Conn, rec *record, batch func(pgx.Tx) (batchResult, error)) (batchResult, error) {
	var res batchResult
	err := retrySerialization(ctx, func() error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			if res, err = batch(tx); err != nil || res.read == 0 {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE pgseal.migration SET last_pk = $4, rows_done = rows_done + $5,
  rows_skipped = rows_skipped + $6, updated_at = now() WHERE table_name = $1 AND column_name = $2 AND operation = $3`,
				rec.table, rec.column, rec.op, *res.last, res.written, res.read-res.written)
			return err
		})
	})
	return res, err
}

func (r *rcol) batch1(ctx context.Context, tx pgx.Tx, snap *keyring.Snapshot, last *string) (batchResult, error) {
	col, pk, tbl := q(r.col.Name), q(r.pk.name), r.t.ident()
	// Stale: another generation OR another suite. substring, not get_byte: it cannot fail on a
	// short value, whatever order PostgreSQL evaluates the conditions in.
	sql := "SELECT t." + pk + "::text, t." + col + " FROM " + tbl + " t WHERE substring(t." + col + " from 4 for 16) = $1 AND (substring(t." +
		col + " from 20 for 4) <> $2 OR substring(t." + col + " from 2 for 1) <> $3)"
	params := [][]byte{r.ks.ID[:], r.gen, r.suite}
	if last != nil {
		sql += " AND t." + pk + " > $4::" + r.pk.fullType
		params = append(params, []byte(*last))
	}
	sql += " ORDER BY t." + pk + fmt.Sprintf(" LIMIT %d FOR UPDATE SKIP LOCKED", r.batch)
	rr := tx.Conn().PgConn().ExecParams(ctx, sql, params, []uint32{17, 17, 17, 0}[:len(params)], []int16{1, 1, 1, 0}[:len(params)], []int16{0, 1}).Read()
	if rr.Err != nil {
		return batchResult{}, fmt.Errorf("read batch: %w", rr.Err)
	}
	res := batchResult{read: len(rr.Rows)}
	if res.read == 0 {
		return res, nil
	}
	pks, news, olds := make([]string, 0, res.read), make([][]byte, 0, res.read), make([][]byte, 0, res.read)
	var buf []byte
	for _, row := range rr.Rows {
		plain, ks, h, err := r.col.Open(buf[:0], snap, row[1], nil)
		if err != nil {
			return res, fmt.Errorf("row with primary key %s: %w", row[0], err)
		}
		buf = plain
		if ks != r.ks {
			return res, fmt.Errorf("BUG: row with primary key %s selected for another keyset", row[0])
		}
		env, err := r.reseal(ks, plain, h)
		if err != nil {
			return res, fmt.Errorf("row with primary key %s: %w", row[0], err)
		}
		pks, news, olds = append(pks, string(row[0])), append(news, env), append(olds, row[1])
	}
	return res, casWrite(ctx, tx, tbl, col, pk, r.pk.fullType, pks, news, olds, &res)
}

// reseal seals an opened value under the primary generation. Its terms (equality, order, match)
// are kept when its generation shares the primary's index generation: they alias the old
// envelope, which stays alive and is not overwritten (the new envelope is a fresh slice). After
// keyset rotate-index they are computed again under the new index keys (Column.Seal).
func (r *rcol) reseal(ks *keyring.Keyset, plain []byte, h crypto.Header) ([]byte, error) {
	if ks.IndexGeneration(h.Generation) != ks.IndexGeneration(ks.PrimaryGeneration()) {
		return r.col.Seal(nil, ks, plain)
	}
	return r.col.SealWithTerms(nil, ks, plain, h.Terms())
}

// casWrite writes a re-sealed batch back (reencrypt's and reindex's): each new envelope replaces
// its row's value only if the row still holds the envelope that was read, so a value a writer
// changed meanwhile is left to a later pass. It sets res.last and res.written.
func casWrite(ctx context.Context, tx pgx.Tx, tbl, col, pk, pkType string, pks []string, news, olds [][]byte, res *batchResult) error {
	lastPK := pks[len(pks)-1]
	res.last = &lastPK
	tag, err := tx.Exec(ctx, "UPDATE "+tbl+" t SET "+col+" = v.new FROM unnest($1::text[]::"+pkType+
		"[], $2::bytea[], $3::bytea[]) AS v(pk, new, old) WHERE t."+pk+" = v.pk AND t."+col+" = v.old", pks, news, olds)
	if err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	res.written = int(tag.RowsAffected())
	return nil
}

// throttle keeps a job under rate rows per second by pausing between batches.
type throttle struct {
	rate  int
	start time.Time
	done  int64
}

func (t *throttle) wait(ctx context.Context, n int64) error {
	t.done += n
	if t.rate <= 0 {
		return nil
	}
	due := t.start.Add(time.Duration(float64(t.done) / float64(t.rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
