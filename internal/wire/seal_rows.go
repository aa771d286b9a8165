package wire

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// Decrypting result rows. The server loop hands a run of DataRows that are already buffered to
// ResponseRows, which decrypts them and answers for each what Response would have, with the
// effects applied in row order; one keyring snapshot and one clock pair serve the whole run.
//
// Decrypting a batch on several goroutines (CRYPTO.md §12 suggests it) was built and measured and
// is not here: on the 2-core machine a helper goroutine woken per batch started after the server
// loop had done almost all of a 64-row batch alone (2.7% of rows done by helpers; 1.84 instead of
// 1.38 µs per row with the hand-off), so it only cost. A pool of spinning workers might do better
// on hosts with spare cores; it needs measuring there first.

const (
	minRowBatch = 5   // shorter runs go through Response one by one
	maxRowBatch = 256 // bounds a batch (its rows fit in the 16 KiB read buffer anyway)
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

// rowBatch is the storage of one batch, pooled so that idle sessions hold none.
type rowBatch struct {
	rows    []rowResult
	answers []rowAnswer
	sc      valueScratch
}

type rowResult struct {
	in  pgproto3.DataRow // aliases the body
	out rowOut
	bad bool // not a valid DataRow
}

// rowBatchesRun counts batches decrypted (the tests check the batch path ran).
var rowBatchesRun atomic.Int64

var rowBatches = sync.Pool{New: func() any { return new(rowBatch) }}

// ResponseRows implements rowsResponder.
func (ss *sealSession) ResponseRows(plan Plan, bodies [][]byte) []rowAnswer {
	rd, pass, pe := ss.resultDecrypt(plan)
	if pass || pe != nil {
		return ss.plainRows(bodies, pe)
	}
	rowBatchesRun.Add(1)
	start := time.Now()
	b := rowBatches.Get().(*rowBatch)
	ss.scratch.batch = b
	if cap(b.rows) < len(bodies) {
		b.rows = make([]rowResult, len(bodies))
	}
	b.rows, b.answers = b.rows[:len(bodies)], b.answers[:0]
	for i, body := range bodies {
		r := &b.rows[i]
		if r.bad = r.in.Decode(body) != nil; r.bad {
			break
		}
		rd.decrypt(&b.sc, &r.in, &r.out)
	}
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
		clear(b.answers)
		for i := range b.rows {
			b.rows[i].in.Values = nil // the bodies belong to the read buffer
		}
		rowBatches.Put(b)
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
// are decrypted (only DataRows arrive between two of its uses).
type rowDecrypt struct {
	snap  *keyring.Snapshot
	lay   *layout
	codes []int16
	se    *stmtExec      // the statement: its keyset, its metrics
	vs    *value.Session // read-only during Decode
}

// decrypt fills out with dr's row, its encrypted fields decrypted, or with the failure. It only
// touches sc and out.
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
