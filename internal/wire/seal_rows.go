package wire

import (
	"errors"
	"runtime"
	"slices"
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
// up to GOMAXPROCS goroutines (the loop's own and per-batch helpers that end before it returns);
// the loop then applies every row's effects and sends the rows in order, exactly as Response
// would have one by one.

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

// rowBatch is the storage of one batch: pooled, so idle sessions hold none.
type rowBatch struct {
	rows    []batchRow
	answers []rowAnswer
	scratch []valueScratch // one per goroutine
}

type batchRow struct {
	in  pgproto3.DataRow // aliases the server's bytes
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
	b := rowBatches.Get().(*rowBatch)
	ss.scratch.batch = b
	if cap(b.rows) < len(bodies) {
		b.rows = slices.Grow(b.rows[:0], len(bodies))
	}
	b.rows, b.answers = b.rows[:len(bodies)], b.answers[:0]
	rd, pass, pe := ss.resultDecrypt(plan)
	if pass || pe != nil {
		for i := range bodies {
			if b.rows[i].in.Decode(bodies[i]) != nil {
				return append(b.answers, rowAnswer{err: errInvalidRow})
			}
			a := rowAnswer{raw: true}
			if pe != nil {
				a = rowAnswer{}
				a.msg, a.err = ss.failResult(pe)
			}
			b.answers = append(b.answers, a)
		}
		return b.answers
	}
	start := time.Now()
	b.run(&rd, bodies)
	per := time.Since(start) / time.Duration(len(bodies))
	for i := range b.rows {
		r := &b.rows[i]
		if r.bad {
			return append(b.answers, rowAnswer{err: errInvalidRow})
		}
		var a rowAnswer
		a.msg, a.err = ss.rowDone(&rd, &r.out, per)
		b.answers = append(b.answers, a)
	}
	return b.answers
}

// RowsSent implements rowsResponder.
func (ss *sealSession) RowsSent() {
	b := ss.scratch.batch
	if b == nil {
		return
	}
	ss.scratch.batch = nil
	for i := range b.rows {
		// Drop the references into the session's read buffer before pooling.
		clear(b.rows[i].in.Values)
		clear(b.rows[i].out.row.Values)
	}
	clear(b.answers)
	rowBatches.Put(b)
}

// run decodes and decrypts every row of the batch. Goroutines claim rowChunk rows at a time, so
// a helper that is scheduled late (PostgreSQL and the client share the cores) takes less work
// instead of delaying the batch.
func (b *rowBatch) run(rd *rowDecrypt, bodies [][]byte) {
	rowBatchesRun.Add(1)
	n := len(bodies)
	limit := rowWorkers
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	workers := min(limit, (n+rowsPerWorker-1)/rowsPerWorker)
	for len(b.scratch) < max(workers, 1) {
		b.scratch = append(b.scratch, valueScratch{})
	}
	var next atomic.Int64
	work := func(sc *valueScratch) {
		for {
			hi := int(next.Add(rowChunk))
			lo := hi - rowChunk
			if lo >= n {
				return
			}
			for i := lo; i < min(hi, n); i++ {
				r := &b.rows[i]
				if r.bad = r.in.Decode(bodies[i]) != nil; !r.bad {
					rd.decrypt(sc, &r.in, &r.out)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { work(&b.scratch[w]) })
	}
	work(&b.scratch[0])
	wg.Wait()
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
	se    *stmtExec
	vs    *value.Session // read-only during Decode
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
			if sc.env, err = decodeByteaHex(sc.env[:0], env); err != nil {
				out.pe = corruptValue(f.col)
				return
			}
			env = sc.env
		}
		plain, audit, pe := sc.open(rd.snap, env, f.col, rd.se)
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
func (sc *valueScratch) open(snap *keyring.Snapshot, env []byte, col *rewrite.Column, se *stmtExec) ([]byte, *auditNote, *ProxyError) {
	h, err := crypto.ParseHeader(env)
	if err != nil {
		return nil, nil, corruptValue(col)
	}
	if se == nil || !se.hasKS {
		return nil, nil, &ProxyError{Code: CodeInsufficientPrivilege, Message: "no keyset selected"}
	}
	if h.Keyset != se.ks.id {
		row := h.Keyset.String()
		if k, ok := snap.KeysetByID(h.Keyset); ok {
			row = k.Name
		}
		return nil, &auditNote{rowKeyset: row, column: col.ID}, &ProxyError{Code: CodeInsufficientPrivilege,
			Message: "permission denied: a value of " + col.Table + "." + col.Name + " belongs to another keyset"}
	}
	ks, ok := snap.KeysetByID(h.Keyset)
	if !ok {
		return nil, nil, &ProxyError{Code: CodeInsufficientPrivilege, Message: "permission denied for keyset " + se.ks.name}
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

// hexVal maps an ASCII hex digit to its value and every other byte to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// decodeByteaHex is decodeByteaText with a faster path for the hex format (PostgreSQL's default
// output): a table lookup per digit and one validity check at the end instead of hex.Decode's
// per-byte branches. Same results and errors as decodeByteaText.
func decodeByteaHex(dst, s []byte) ([]byte, error) {
	if len(s) < 2 || s[0] != '\\' || s[1] != 'x' {
		return decodeByteaText(dst, s)
	}
	h := s[2:]
	if len(h)%2 != 0 {
		return dst, errByteaText
	}
	n := len(dst)
	dst = slices.Grow(dst, len(h)/2)[:n+len(h)/2]
	out := dst[n:]
	h = h[:2*len(out)]
	var bad byte
	for i := range out {
		hi, lo := hexVal[h[2*i]], hexVal[h[2*i+1]]
		bad |= hi | lo
		out[i] = hi<<4 | lo
	}
	if bad&0xf0 != 0 {
		return dst[:n], errByteaText
	}
	return dst, nil
}
