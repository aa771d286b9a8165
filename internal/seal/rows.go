package seal

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// Decrypting result rows. The server loop hands a run of DataRows that are already buffered to
// ResponseRows, which decrypts them and answers for each what Response would have, with the
// effects applied in row order; one keyring snapshot and one clock pair serve the whole run.
//
// Per-value key setup dominates the cost (docs/crypto.md §9), so a long run is also decrypted by
// helper goroutines (up to GOMAXPROCS-1, started per batch) that claim rowChunk rows at a time.
// Once the server loop has no rows left to claim it waits only for chunks a helper is in the
// middle of: a helper that never got a core claims nothing and is not waited for. An earlier
// version with 64-row batches (all a 16 KiB read buffer held) gained nothing: the helper started
// after the loop had done the batch alone. The read buffer now grows while a long result streams
// (growRowRun), so batches hold about a thousand rows.

const (
	rowChunk      = 32  // rows a goroutine claims at a time
	rowsPerHelper = 128 // a helper is started per this many rows of a batch (fewer are not worth one)
)

// rowHelpers caps the helper goroutines per batch; negative means GOMAXPROCS-1. Tests set it to
// force the parallel path (on one core too) or to turn it off.
var rowHelpers = -1

// rowBatch is the storage of one batch, pooled so that idle sessions hold none. A helper may still
// be running (about to find nothing left to claim) after the server loop has moved on, so the
// batch returns to the pool only when its last holder releases it. Helpers touch rows, vals and
// the read buffer only inside chunks they claimed, and the loop waits for those.
type rowBatch struct {
	refs atomic.Int32  // the server loop until RowsSent, plus each helper still running
	next atomic.Int64  // rows claimed so far
	busy atomic.Int32  // helpers between claiming and finishing a chunk
	wait atomic.Bool   // the server loop is waiting for busy to reach zero
	wake chan struct{} // capacity 1: a helper that brings busy to zero while the loop waits

	rd      rowDecrypt
	rows    []rowResult
	vals    [][]byte // the values of every row, which alias the bodies
	answers []wire.RowAnswer
	sc      []valueScratch // [0] is the server loop's, [w] helper w's
}

type rowResult struct {
	lo, hi int // the row's values are vals[lo:hi]
	out    rowOut
}

// rowBatchesRun and rowsHelped count batches decrypted and rows that helpers decrypted (the
// tests check the paths ran; the benchmark reports them).
var rowBatchesRun, rowsHelped atomic.Int64

var rowBatches = sync.Pool{New: func() any { return &rowBatch{wake: make(chan struct{}, 1)} }}

// ResponseRows implements wire.RowsResponder.
func (ss *Session) ResponseRows(plan wire.Plan, bodies [][]byte) []wire.RowAnswer {
	rd, pass, pe := ss.resultDecrypt(plan)
	if pass || pe != nil {
		return ss.plainRows(bodies, pe)
	}
	rowBatchesRun.Add(1)
	start := time.Now()
	b := rowBatches.Get().(*rowBatch)
	ss.server.scratch.batch = b
	b.refs.Store(1)
	b.next.Store(0)
	b.wait.Store(false)
	b.rd = rd
	if cap(b.rows) < len(bodies) {
		b.rows = make([]rowResult, len(bodies))
	}
	b.rows, b.answers, b.vals = b.rows[:len(bodies)], b.answers[:0], b.vals[:0]
	for i, body := range bodies {
		lo, ok := len(b.vals), false
		if b.vals, ok = appendValues(b.vals, body); !ok {
			b.rows = b.rows[:i] // the rows before it are answered, then wire.ErrInvalidRow
			break
		}
		b.rows[i].lo, b.rows[i].hi = lo, len(b.vals)
	}
	b.run()
	per := time.Since(start) / time.Duration(len(bodies))
	n, ok := 0, false
	for i := range b.rows {
		var a wire.RowAnswer
		out := &b.rows[i].out
		a.Msg, a.Err = ss.rowDone(&rd, out, -1)
		b.answers = append(b.answers, a)
		if out.pe == nil {
			n, ok = n+out.n, true
		}
	}
	if ok {
		ss.decrypted(&rd, n, per)
	}
	if len(b.rows) < len(bodies) {
		b.answers = append(b.answers, wire.RowAnswer{Err: wire.ErrInvalidRow})
	}
	return b.answers
}

// run decrypts every row of the batch, on the server loop and on helpers.
func (b *rowBatch) run() {
	helpers := rowHelpers
	if helpers < 0 {
		helpers = runtime.GOMAXPROCS(0) - 1
	}
	helpers = min(helpers, len(b.rows)/rowsPerHelper)
	for len(b.sc) < helpers+1 {
		b.sc = append(b.sc, valueScratch{})
	}
	for w := 1; w <= helpers; w++ {
		b.refs.Add(1)
		go b.help(&b.sc[w])
	}
	n := len(b.rows)
	for lo, hi := b.claim(); lo < n; lo, hi = b.claim() {
		b.decrypt(lo, hi, &b.sc[0])
	}
	if helpers == 0 {
		return
	}
	b.wait.Store(true)
	for b.busy.Load() != 0 {
		<-b.wake // a token left by an earlier batch only makes the loop look again
	}
}

// help decrypts chunks until none are left, then lets go of the batch.
func (b *rowBatch) help(sc *valueScratch) {
	defer b.release()
	n := len(b.rows)
	for {
		b.busy.Add(1)
		lo, hi := b.claim()
		if lo < n {
			b.decrypt(lo, hi, sc)
			rowsHelped.Add(int64(hi - lo))
		}
		if b.busy.Add(-1) == 0 && b.wait.Load() {
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}
		if lo >= n {
			return
		}
	}
}

// claim returns the next rows to decrypt, [lo, hi); lo >= len(rows) when none are left.
func (b *rowBatch) claim() (lo, hi int) {
	hi = int(b.next.Add(rowChunk))
	return hi - rowChunk, min(hi, len(b.rows))
}

func (b *rowBatch) decrypt(lo, hi int, sc *valueScratch) {
	for i := lo; i < hi; i++ {
		r := &b.rows[i]
		b.rd.decrypt(sc, b.vals[r.lo:r.hi:r.hi], &r.out)
	}
}

func (b *rowBatch) release() {
	if b.refs.Add(-1) == 0 {
		rowBatches.Put(b)
	}
}

// appendValues appends the values of a DataRow body to dst (nil for NULL, otherwise aliasing
// body), as pgproto3.DataRow.Decode would, without its 32-slot slice per row. ok is false for a
// malformed body.
func appendValues(dst [][]byte, body []byte) ([][]byte, bool) {
	if len(body) < 2 {
		return dst, false
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	for range n {
		if len(body) < 4 {
			return dst, false
		}
		l := int(int32(binary.BigEndian.Uint32(body)))
		body = body[4:]
		switch {
		case l == -1:
			dst = append(dst, nil)
		case l < 0 || l > len(body):
			return dst, false
		default:
			dst = append(dst, body[:l:l])
			body = body[l:]
		}
	}
	return dst, true
}

// plainRows answers rows that need no decryption: forwarded as they are, or each replaced by pe
// (rows of encrypted outputs without a description), as dataRow does one by one.
func (ss *Session) plainRows(bodies [][]byte, pe *sqlstate.Error) []wire.RowAnswer {
	answers := ss.server.scratch.plain[:0]
	for _, body := range bodies {
		if ss.server.scratch.out.row.Decode(body) != nil {
			answers = append(answers, wire.RowAnswer{Err: wire.ErrInvalidRow})
			break
		}
		a := wire.RowAnswer{Raw: true}
		if pe != nil {
			a = wire.RowAnswer{}
			a.Msg, a.Err = ss.failResult(pe)
		}
		answers = append(answers, a)
	}
	ss.server.scratch.plain = answers
	return answers
}

// RowsSent implements wire.RowsResponder.
func (ss *Session) RowsSent() {
	clear(ss.server.scratch.plain)
	if b := ss.server.scratch.batch; b != nil {
		ss.server.scratch.batch = nil
		clear(b.answers)
		clear(b.vals) // the bodies belong to the read buffer
		b.rd = rowDecrypt{}
		for w := range b.sc {
			b.sc[w].forgetKeys() // a pooled batch keeps no keyring snapshot alive
		}
		b.release()
	}
}

// valueScratch holds the buffers of one goroutine decrypting values.
type valueScratch struct {
	env   []byte
	plain []byte
	keys  []column.KeyCache // per result field: the column key of its last value
	runes []rune            // a LIKE filter's characters of the value (filter.go)
}

// keyCache is field i's column.KeyCache (nil for i < 0: none).
func (sc *valueScratch) keyCache(i int) *column.KeyCache {
	if i < 0 {
		return nil
	}
	if i >= len(sc.keys) {
		sc.keys = append(sc.keys, make([]column.KeyCache, i+1-len(sc.keys))...)
	}
	return &sc.keys[i]
}

// forgetKeys drops the remembered column keys (they hold a keyring snapshot and its keys).
func (sc *valueScratch) forgetKeys() { clear(sc.keys) }

// emptyValue is a zero-length, non-nil field value.
var emptyValue = []byte{}

// rowOut is one decrypted row (row aliases arena) or its failure.
type rowOut struct {
	row   pgproto3.DataRow
	arena []byte
	ends  []int
	n     int             // values decrypted
	pe    *sqlstate.Error // the row cannot be sent: the rest of the result is replaced by pe
	audit *auditNote      // a value of another keyset, logged in row order by rowDone
	drop  bool            // the LIKE filters rejected the row (filter.go)
}

// auditNote is what the audit line about a value of another keyset names.
type auditNote struct{ rowKeyset, column string }

// rowDecrypt is what decrypting the rows of one result needs. Nothing in it changes while rows
// are decrypted (only DataRows arrive between two of its uses).
type rowDecrypt struct {
	snap    *keyring.Snapshot
	lay     *layout
	codes   []int16        // the client's result formats (nil: the description's)
	up      []int16        // the formats PostgreSQL sends, when pgseal changed them (formats.go)
	se      *stmtExec      // the statement: its keyset, its metrics
	vs      *value.Session // read-only during Decode
	filters filterSet      // the statement's LIKE filters (read-only)
}

// decrypt fills out with dr's row, its encrypted fields decrypted, or with the failure. It only
// touches sc and out.
func (rd *rowDecrypt) decrypt(sc *valueScratch, vals [][]byte, out *rowOut) {
	out.row.Values = append(out.row.Values[:0], vals...)
	out.arena, out.ends, out.n, out.pe, out.audit, out.drop = out.arena[:0], out.ends[:0], 0, nil, nil, false
	if rd.filters != nil && !rd.filters.nullKept(vals) {
		out.drop = true
		return
	}
	for i, f := range rd.lay.fields {
		if f.col == nil || i >= len(vals) || vals[i] == nil {
			out.ends = append(out.ends, -1)
			continue
		}
		format := resultFormat(rd.codes, i, f)
		sent := format
		if rd.up != nil {
			sent = formatAt(rd.up, i)
		}
		var err error
		env := vals[i]
		if sent == 0 {
			if sc.env, err = column.DecodeByteaText(sc.env[:0], env); err != nil {
				out.pe = corruptValue(f.col)
				return
			}
			env = sc.env
		}
		plain, audit, pe := sc.open(rd.snap, env, f.col, f.cc, rd.se, i)
		if pe != nil {
			out.pe, out.audit = pe, audit
			return
		}
		if rd.filters != nil && !rd.filters.keep(i, plain, &sc.runes) {
			out.drop = true // a LIKE filter reads this field (hidden, or shown as well) and rejects the row
			return
		}
		if f.hide {
			out.ends = append(out.ends, -1)
			continue
		}
		if out.arena, err = value.Decode(out.arena, f.t, plain, format, rd.vs); err != nil {
			out.pe = valueRefusal(err)
			return
		}
		out.ends = append(out.ends, len(out.arena))
		out.n++
	}
	prev := 0
	for i, end := range out.ends {
		if end < 0 {
			continue
		}
		out.row.Values[i] = out.arena[prev:end:end]
		if out.row.Values[i] == nil {
			out.row.Values[i] = emptyValue // an empty value is not NULL, even before the arena grew
		}
		prev = end
	}
	out.row.Values = visibleValues(out.row.Values, rd.lay)
}

// open checks the envelope's keyset against the statement's and decrypts it (column.Open). A
// value of another keyset also returns the note for the audit line (the caller logs it, in row
// order). field >= 0 names the result field whose column key the scratch remembers.
func (sc *valueScratch) open(snap *keyring.Snapshot, env []byte, col *rewrite.Column, cc *column.Column, se *stmtExec, field int) ([]byte, *auditNote, *sqlstate.Error) {
	if se == nil || !se.hasKS {
		if _, err := crypto.ParseHeader(env); err != nil {
			return nil, nil, corruptValue(col)
		}
		return nil, nil, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "no keyset selected"}
	}
	plain, ks, h, err := cc.OpenCached(sc.plain[:0], snap, env, &se.ks.id, sc.keyCache(field))
	switch {
	case err == nil:
		sc.plain = plain
		return plain, nil, nil
	case errors.Is(err, column.ErrOtherKeyset):
		row := h.Keyset.String()
		if ks != nil {
			row = ks.Name
		}
		return nil, &auditNote{rowKeyset: row, column: col.ID}, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege,
			Message: "permission denied: a value of " + col.Table + "." + col.Name + " belongs to another keyset"}
	case errors.Is(err, column.ErrForeignKeyset):
		return nil, nil, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "permission denied for keyset " + se.ks.name}
	case errors.Is(err, keyring.ErrSealed):
		return nil, nil, sealedRefusal(ks.Name)
	case errors.Is(err, keyring.ErrUnavailable):
		return nil, nil, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "keyset " + ks.Name + " cannot decrypt this value (key generation unavailable)"}
	}
	return nil, nil, corruptValue(col)
}
