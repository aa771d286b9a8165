package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
)

// batchTx re-seals one batch and records the position, in one transaction (as Reencrypt's).
func (x *reindexJob) batchTx(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, last *string, rec *record) (batchResult, error) {
	return recordedBatch(ctx, conn, rec, func(tx pgx.Tx) (batchResult, error) { return x.batch1(ctx, tx, snap, last) })
}

// batch1 reads up to a batch of values lacking terms after last (by primary key, skipping rows
// locked by writers), re-seals them and writes each back only if the row still holds the
// envelope that was read (a row changed meanwhile is left to a later pass).
func (x *reindexJob) batch1(ctx context.Context, tx pgx.Tx, snap *keyring.Snapshot, last *string) (batchResult, error) {
	col, pk, tbl := q(x.g.c.name), q(x.g.pk.name), x.g.t.ident()
	sql := "SELECT t." + pk + "::text, t." + col + " FROM " + tbl + " t WHERE " + lacksTermsSQL("t."+col, x.mask)
	var params [][]byte
	if last != nil {
		sql += " AND t." + pk + " > $1::" + x.g.pk.fullType
		params = append(params, []byte(*last))
	}
	sql += " ORDER BY t." + pk + fmt.Sprintf(" LIMIT %d FOR UPDATE SKIP LOCKED", x.batch)
	rr := tx.Conn().PgConn().ExecParams(ctx, sql, params, []uint32{0}[:len(params)], []int16{0}[:len(params)], []int16{0, 1}).Read()
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
		plain, ks, _, err := x.col.Open(buf[:0], snap, row[1], nil)
		if err != nil {
			return res, fmt.Errorf("row with primary key %s: %w", row[0], err)
		}
		buf = plain
		env, err := x.col.Seal(nil, ks, plain)
		if err != nil {
			return res, fmt.Errorf("row with primary key %s: %w", row[0], err)
		}
		if !hasTerms(env, x.mask) {
			return res, errNoTerms
		}
		pks, news, olds = append(pks, string(row[0])), append(news, env), append(olds, row[1])
	}
	return res, casWrite(ctx, tx, tbl, col, pk, x.g.pk.fullType, pks, news, olds, &res)
}

// countLacking counts the column's values that lack a term of mask.
func countLacking(ctx context.Context, conn *pgx.Conn, g *target, mask int) (int64, error) {
	var n int64
	c := "t." + q(g.c.name)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+g.t.ident()+" t WHERE "+lacksTermsSQL(c, mask)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count values lacking terms: %w", err)
	}
	return n, nil
}

// indexState is the state of index name in the table's schema: exists, and whether it is on the
// table and valid, ready and live.
func indexState(ctx context.Context, conn *pgx.Conn, t *tableInfo, name string) (exists, onTable, valid bool, err error) {
	err = conn.QueryRow(ctx, `SELECT i.indrelid = $3, i.indisvalid AND i.indisready AND i.indislive
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
WHERE c.relname = $2 AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1)`,
		t.schema, name, t.oid).Scan(&onTable, &valid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, false, nil
	}
	if err != nil {
		return false, false, false, fmt.Errorf("read index %s: %w", name, err)
	}
	return true, onTable, valid, nil
}

// ensureSearchIndexes creates the column's missing ord and match indexes with CREATE INDEX
// CONCURRENTLY (reads and writes go on), dropping an invalid leftover of an interrupted build
// first, and notifies pgseal_catalog when it created any. It returns the names it created.
func ensureSearchIndexes(ctx context.Context, conn *pgx.Conn, g *target, col Column, prog *progress) ([]string, error) {
	var created []string
	for _, ix := range searchIndexes(col) {
		exists, onTable, valid, err := indexState(ctx, conn, g.t, ix.name)
		switch {
		case err != nil:
			return created, err
		case exists && !onTable:
			return created, fmt.Errorf("an index named %s exists on another table: drop or rename it", ix.name)
		case valid:
			continue
		case exists:
			prog.logf("reindex %s: dropping the invalid index %s left by an interrupted build", col.ID, ix.name)
			if _, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+pgx.Identifier{g.t.schema, ix.name}.Sanitize()); err != nil {
				return created, fmt.Errorf("drop invalid index %s: %w", ix.name, err)
			}
		}
		prog.logf("reindex %s: creating index %s (%s)", col.ID, ix.name, ix.kind)
		if _, err := conn.Exec(ctx, createIndexSQL(g.t, g.c.name, col.Eq, ix, true)); err != nil {
			return created, fmt.Errorf("create index %s: %w", ix.name, err)
		}
		created = append(created, ix.name)
	}
	if len(created) > 0 {
		if _, err := conn.Exec(ctx, "SELECT pg_notify('pgseal_catalog', $1)", g.id()); err != nil {
			return created, fmt.Errorf("notify pgseal_catalog: %w", err)
		}
	}
	return created, nil
}

// searchList names col's ord and match searches for messages ("ord", "match", "ord and match").
func searchList(col Column) string {
	var s []string
	if col.Ord {
		s = append(s, "ord")
	}
	if col.Match {
		s = append(s, "match")
	}
	return strings.Join(s, " and ")
}
