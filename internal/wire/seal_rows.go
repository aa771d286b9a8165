package wire

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// Decrypting result rows. Per-value key setup dominates the cost (CRYPTO.md §12), so the server
// loop hands a run of DataRows that are already buffered to ResponseRows, which decrypts them on
// up to GOMAXPROCS goroutines: the loop's own and helpers started per batch, which the loop never
// waits for (see rowBatch) and which a session pauses while they get no core (helperGate). The
// loop then applies every row's effects and sends the rows in order, exactly as Response would
// have one by one.

const (
	minRowBatch   = 5   // shorter runs go through Response one by one: a batch costs a hand-off
	maxRowBatch   = 256 // bounds a batch (its rows fit in the 16 KiB read buffer anyway)
	rowChunk      = 4   // rows a goroutine claims at a time
	rowsPerWorker = 16  // fewer rows than this per goroutine are not worth another goroutine
)

// rowsResponder is an optional extension of SessionInterceptor: Response for a run of consecutive
// DataRows of one Plan (bodies, valid until RowsSent). The answers are what Response would have
// returned for each row, in order, with its effects applied in that order; an invalid DataRow
// ends the answers with errInvalidRow. The session calls RowsSent once it has sent them.
type rowsResponder interface {
	ResponseRows(plan Plan, bodies [][]byte) []rowAnswer
	RowsSent()
}

// rowAnswer is Response's answer to one row: msg and err, or raw to forward the row unchanged.
type rowAnswer struct {
	msg pgproto3.BackendMessage
	raw bool
	err error
}

// rowBatch is the storage of one batch, pooled so that idle sessions hold none. The server loop
// never waits for a helper: a helper that the OS has descheduled (PostgreSQL and the client share
// the cores) would stall the whole result, so the loop redoes any row a helper has not finished
// and leaves the helper to finish in the background. Everything a helper touches therefore
// belongs to the batch (the rows' bytes are copied out of the read buffer, the value settings and
// result formats too) or is immutable (snapshot, layout, columns), and the batch returns to the
// pool only when its last holder releases it.
type rowBatch struct {
	refs    atomic.Int32 // the server loop until RowsSent, plus each running helper
	next    atomic.Int64 // rows claimed so far (rowChunk at a time)
	rows    []batchRow
	answers []rowAnswer
	scratch []valueScratch // [0] the server loop's, [w] helper w's
	workers int            // goroutines decrypting, the server loop's included
	bodies  [][]byte       // the rows; into body when there are helpers
	body    []byte         // the rows' bytes, copied for helpers
	rd      rowDecrypt     // with helpers, vs and codes point into the batch
	vs      value.Session
	codes   []int16
}

type batchRow struct {
	own    rowResult   // written by whoever claimed the row
	done   atomic.Bool // a helper finished own
	byLoop bool        // the server loop claimed the row
	redone bool        // a helper had not finished: the server loop decrypted the row again
	redo   rowResult   // the server loop's result when redone
}

type rowResult struct {
	in  pgproto3.DataRow // aliases bodies
	out rowOut
	bad bool // not a valid DataRow
}

// rowWorkers caps the goroutines decrypting one batch; 0 means GOMAXPROCS. Tests and the
// benchmark set it to compare or to force the parallel path on one core.
var rowWorkers int

// rowBatchesRun counts batches decrypted by run (the tests check the parallel path ran).
var rowBatchesRun atomic.Int64

var rowBatches = sync.Pool{New: func() any { return new(rowBatch) }}

// ResponseRows implements rowsResponder.
func (ss *sealSession) ResponseRows(plan Plan, bodies [][]byte) []rowAnswer {
	rd, pass, pe := ss.resultDecrypt(plan)
	if pass || pe != nil {
		return ss.plainRows(bodies, pe)
	}
	start := time.Now()
	workers := ss.scratch.gate.workers(len(bodies))
	b := newRowBatch(&rd, bodies, workers)
	ss.scratch.batch = b
	ss.scratch.gate.observe(workers, b.run(), len(bodies))
	per := time.Since(start) / time.Duration(len(bodies))
	for i := range b.rows {
		r := b.result(i)
		if r.bad {
			return append(b.answers, rowAnswer{err: errInvalidRow})
		}
		var a rowAnswer
		a.msg, a.err = ss.rowDone(&rd, &r.out, per)
		b.answers = append(b.answers, a)
	}
	return b.answers
}

// plainRows answers rows that need no decryption: forwarded as they are, or each replaced by pe
// (rows of encrypted outputs without a description), as dataRow does one by one.
func (ss *sealSession) plainRows(bodies [][]byte, pe *ProxyError) []rowAnswer {
	answers := ss.scratch.plain[:0]
	for _, body := range bodies {
		if ss.scratch.out.row.Decode(body) != nil {
			answers = append(answers, rowAnswer{err: errInvalidRow})
			break
		}
		a := rowAnswer{raw: true}
		if pe != nil {
			a = rowAnswer{}
			a.msg, a.err = ss.failResult(pe)
		}
		answers = append(answers, a)
	}
	ss.scratch.plain = answers
	return answers
}

// RowsSent implements rowsResponder.
func (ss *sealSession) RowsSent() {
	clear(ss.scratch.plain)
	if b := ss.scratch.batch; b != nil {
		ss.scratch.batch = nil
		b.release()
	}
}

// newRowBatch takes a batch from the pool and copies into it what its helpers will read.
func newRowBatch(rd *rowDecrypt, bodies [][]byte, workers int) *rowBatch {
	b := rowBatches.Get().(*rowBatch)
	b.refs.Store(1)
	b.next.Store(0)
	b.workers = workers
	b.bodies = append(b.bodies[:0], bodies...)
	b.rd = *rd
	b.rd.se = nil
	if workers > 1 {
		// Helpers may outlive the server loop's use of its read buffer and of the session.
		b.body = b.body[:0]
		for i, body := range bodies {
			b.body = append(b.body, body...)
			b.bodies[i] = b.body[len(b.body)-len(body):]
		}
		b.vs, b.codes = *rd.vs, append(b.codes[:0], rd.codes...)
		b.rd.vs = &b.vs
		if rd.codes != nil { // nil means "the description's formats", not "no codes"
			b.rd.codes = b.codes
		}
	}
	if cap(b.rows) < len(bodies) {
		b.rows = make([]batchRow, len(bodies))
	}
	b.rows, b.answers = b.rows[:len(bodies)], b.answers[:0]
	for i := range b.rows {
		b.rows[i].done.Store(false)
		b.rows[i].byLoop, b.rows[i].redone = false, false
	}
	return b
}

func (b *rowBatch) release() {
	if b.refs.Add(-1) == 0 {
		clear(b.answers)
		clear(b.bodies)
		rowBatches.Put(b)
	}
}

// batchWorkers is how many goroutines should decrypt n rows: 1 below rowsPerWorker rows each.
func batchWorkers(n int) int {
	limit := rowWorkers
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	return max(1, min(limit, n/rowsPerWorker))
}

// run decrypts every row of the batch: the server loop and b.workers-1 helpers claim rowChunk
// rows at a time; then the loop redoes whatever a helper has not finished yet. It returns how
// many rows the helpers contributed.
func (b *rowBatch) run() (helped int) {
	rowBatchesRun.Add(1)
	n := len(b.rows)
	for len(b.scratch) < max(b.workers, 1) {
		b.scratch = append(b.scratch, valueScratch{})
	}
	for w := 1; w < b.workers; w++ {
		b.refs.Add(1)
		go b.help(&b.scratch[w])
	}
	sc := &b.scratch[0]
	for lo, hi := b.claim(); lo < n; lo, hi = b.claim() {
		for i := lo; i < hi; i++ {
			b.rows[i].byLoop = true
			b.decrypt(i, &b.rows[i].own, sc)
		}
	}
	for i := range b.rows {
		switch r := &b.rows[i]; {
		case r.byLoop:
		case r.done.Load():
			helped++
		default:
			r.redone = true
			b.decrypt(i, &r.redo, sc)
		}
	}
	return helped
}

// helperGate stops starting helpers for a while when they do not get a core in time: on a host
// whose cores are busy elsewhere a woken helper starts after the server loop has done most of the
// batch alone, and starting it only costs. It probes again after pause batches, a pause that
// doubles (up to maxHelperPause) while the probes keep failing.
type helperGate struct{ off, pause int }

const minHelperPause, maxHelperPause = 16, 1024

func (g *helperGate) workers(n int) int {
	w := batchWorkers(n)
	if w > 1 && rowWorkers <= 0 && g.off > 0 {
		g.off--
		return 1
	}
	return w
}

// observe records a batch of n rows on workers goroutines whose helpers did helped of them.
// Helpers that did less than a quarter are paused.
func (g *helperGate) observe(workers, helped, n int) {
	switch {
	case workers <= 1:
	case helped*4 >= n:
		g.off, g.pause = 0, 0
	default:
		g.pause = min(max(2*g.pause, minHelperPause), maxHelperPause)
		g.off = g.pause
	}
}

// result returns row i's result once run has returned.
func (b *rowBatch) result(i int) *rowResult {
	if r := &b.rows[i]; r.redone {
		return &r.redo
	}
	return &b.rows[i].own
}

// claim returns the next rows to decrypt, [lo, hi); lo >= len(rows) when none are left.
func (b *rowBatch) claim() (lo, hi int) {
	hi = int(b.next.Add(rowChunk))
	return hi - rowChunk, min(hi, len(b.rows))
}

func (b *rowBatch) help(sc *valueScratch) {
	defer b.release()
	n := len(b.rows)
	for lo, hi := b.claim(); lo < n; lo, hi = b.claim() {
		for i := lo; i < hi; i++ {
			b.decrypt(i, &b.rows[i].own, sc)
			b.rows[i].done.Store(true)
		}
	}
}

func (b *rowBatch) decrypt(i int, r *rowResult, sc *valueScratch) {
	if r.bad = r.in.Decode(b.bodies[i]) != nil; !r.bad {
		b.rd.decrypt(sc, &r.in, &r.out)
	}
}

// valueScratch holds the buffers of one goroutine decrypting values.
type valueScratch struct {
	env   []byte
	plain []byte
}

// rowOut is one decrypted row (row aliases arena) or its failure.
type rowOut struct {
	row   pgproto3.DataRow
	arena []byte
	ends  []int
	n     int         // values decrypted
	pe    *ProxyError // the row cannot be sent: the rest of the result is replaced by pe
	audit *auditNote  // a value of another keyset, logged in row order by rowDone
}

// auditNote is what the audit line about a value of another keyset names.
type auditNote struct{ rowKeyset, column string }

// rowDecrypt is what decrypting the rows of one result needs. Nothing in it changes while rows
// are decrypted (only DataRows arrive between two of its uses), so goroutines share it.
type rowDecrypt struct {
	snap  *keyring.Snapshot
	lay   *layout
	codes []int16
	se    *stmtExec      // for rowDone, on the server loop only
	ks    sessionKeyset  // the statement's keyset, copied from se
	vs    *value.Session // read-only during Decode
}

// sessionKeyset is what the keyset check needs of a statement's keyset, copied so that the
// goroutines decrypting rows never read the statement itself.
type sessionKeyset struct {
	ok   bool
	id   crypto.KeysetID
	name string
}

func keysetOf(se *stmtExec) sessionKeyset {
	if se == nil || !se.hasKS {
		return sessionKeyset{}
	}
	return sessionKeyset{ok: true, id: se.ks.id, name: se.ks.name}
}

// decrypt fills out with dr's row, its encrypted fields decrypted, or with the failure. It only
// touches sc and out, so rows may be decrypted concurrently with different ones.
func (rd *rowDecrypt) decrypt(sc *valueScratch, dr *pgproto3.DataRow, out *rowOut) {
	out.row.Values = append(out.row.Values[:0], dr.Values...)
	out.arena, out.ends, out.n, out.pe, out.audit = out.arena[:0], out.ends[:0], 0, nil, nil
	for i, f := range rd.lay.fields {
		if f.col == nil || i >= len(dr.Values) || dr.Values[i] == nil {
			out.ends = append(out.ends, -1)
			continue
		}
		format := resultFormat(rd.codes, i, f)
		var err error
		env := dr.Values[i]
		if format == 0 {
			if sc.env, err = decodeByteaText(sc.env[:0], env); err != nil {
				out.pe = corruptValue(f.col)
				return
			}
			env = sc.env
		}
		plain, audit, pe := sc.open(rd.snap, env, f.col, rd.ks)
		if pe != nil {
			out.pe, out.audit = pe, audit
			return
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
		prev = end
	}
	out.row.Values = visibleValues(out.row.Values, rd.lay)
}

// open checks the envelope's keyset against the statement's and decrypts it. A value of another
// keyset also returns the note for the audit line (the caller logs it, in row order).
func (sc *valueScratch) open(snap *keyring.Snapshot, env []byte, col *rewrite.Column, sk sessionKeyset) ([]byte, *auditNote, *ProxyError) {
	h, err := crypto.ParseHeader(env)
	if err != nil {
		return nil, nil, corruptValue(col)
	}
	if !sk.ok {
		return nil, nil, &ProxyError{Code: CodeInsufficientPrivilege, Message: "no keyset selected"}
	}
	if h.Keyset != sk.id {
		row := h.Keyset.String()
		if k, ok := snap.KeysetByID(h.Keyset); ok {
			row = k.Name
		}
		return nil, &auditNote{rowKeyset: row, column: col.ID}, &ProxyError{Code: CodeInsufficientPrivilege,
			Message: "permission denied: a value of " + col.Table + "." + col.Name + " belongs to another keyset"}
	}
	ks, ok := snap.KeysetByID(h.Keyset)
	if !ok {
		return nil, nil, &ProxyError{Code: CodeInsufficientPrivilege, Message: "permission denied for keyset " + sk.name}
	}
	ck, err := ks.ColumnKey(h.Generation, col.ID)
	if err != nil {
		if errors.Is(err, keyring.ErrUnavailable) {
			return nil, nil, &ProxyError{Code: CodeInsufficientPrivilege, Message: "keyset " + ks.Name + " cannot decrypt this value (key generation unavailable)"}
		}
		return nil, nil, corruptValue(col)
	}
	if sc.plain, err = ck.Open(sc.plain[:0], env); err != nil {
		return nil, nil, corruptValue(col)
	}
	return sc.plain, nil, nil
}
