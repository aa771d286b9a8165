package seal

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/wire"
)

// Encrypted result columns in binary from PostgreSQL. A client that asks for a column in text gets
// text, but the envelope itself need not cross the upstream leg as bytea's hex text: that doubles
// its bytes, costs PostgreSQL the encoding and pgseal the decoding (about a tenth of decrypting a
// text-format result). Bind may name a format per column only when it gives the column count,
// which pgseal knows once the statement was described (Describe S: pgx's default statement cache,
// prepared statements of most drivers); then Bind asks for the encrypted columns in binary, and
// pgseal answers the client in the format it asked for (the RowDescription of the portal shows
// the client's codes). A statement that is not described before its Bind (the unnamed statement
// of Exec-mode drivers, pgbench -M extended: Parse, Bind, Describe P, Execute) gets what an
// earlier description of the same text said under the same catalog (encBySQL), when its text
// fixes its result's columns (shapeFixed); the first execution of such a text keeps the
// client's codes.

// encFields is what a statement's Describe S said of its result: the field count and which
// fields carry an encrypted column. The server loop stores it; Bind (client loop) reads it.
type encFields struct {
	n   int
	enc []bool
}

// upstreamBinary counts Binds whose result formats pgseal changed, queriesExtended the Queries sent
// as extended sequences (the tests check they ran).
var upstreamBinary, queriesExtended atomic.Int64

func newEncFields(lay *layout) *encFields {
	ef := &encFields{n: len(lay.fields), enc: make([]bool, len(lay.fields))}
	for i, f := range lay.fields {
		ef.enc[i] = f.col != nil
	}
	return ef
}

// formatAt is the format PostgreSQL applies to result column i for Bind's codes: none means
// text, one applies to every column, otherwise one per column.
func formatAt(codes []int16, i int) int16 {
	switch {
	case len(codes) == 0:
		return 0
	case len(codes) == 1:
		return codes[0]
	case i < len(codes):
		return codes[i]
	}
	return 0
}

// upstreamFormats returns the result codes to send instead of codes (the client's), or nil to
// send the client's: every encrypted field in binary, every other field as the client asked.
func upstreamFormats(codes []int16, ef *encFields) []int16 {
	if ef == nil || (len(codes) > 1 && len(codes) != ef.n) {
		return nil // a count the server will refuse anyway
	}
	need := false
	for i, enc := range ef.enc {
		if enc && formatAt(codes, i) != 1 {
			need = true
			break
		}
	}
	if !need {
		return nil
	}
	up := make([]int16, ef.n)
	for i, enc := range ef.enc {
		up[i] = formatAt(codes, i)
		if enc {
			up[i] = 1
		}
	}
	return up
}

// upstreamAgrees reports whether rows sent in the up formats can be answered in the client's
// (codes): every field whose format pgseal changed must be one pgseal decrypts (and so encodes
// anew). If the result's shape changed since the description (a migration's cut-over, DDL), a
// plaintext field could arrive in binary for a client that asked for text: refuse instead.
func upstreamAgrees(up, codes []int16, lay *layout) bool {
	for i := range up {
		if up[i] == formatAt(codes, i) {
			continue
		}
		if lay == nil || i >= len(lay.fields) || lay.fields[i].col == nil {
			return false
		}
	}
	return true
}

// encMemo is what a description of a statement text said, under a catalog version, and for a
// Query's shape whether its last result was long.
type encMemo struct {
	version uint64
	ef      *encFields // nil: no encrypted field
	long    bool
}

// same reports whether ef describes lay's fields (nil for nil).
func (ef *encFields) same(lay *layout) bool {
	if ef == nil || lay == nil {
		return ef == nil && lay == nil
	}
	if ef.n != len(lay.fields) {
		return false
	}
	for i, f := range lay.fields {
		if ef.enc[i] != (f.col != nil) {
			return false
		}
	}
	return true
}

// encCacheMax bounds the session's memory of descriptions by statement text.
const encCacheMax = 256

// A simple Query's encrypted fields cross the upstream leg as hex text too. A Query of one
// statement whose text fixes its result's columns (shapeFixed), without parameters, settings or
// transaction control, is sent instead as one unnamed extended-protocol sequence that asks for its
// encrypted fields in binary (wire.Verdict.ResultFormats), when the last Query of the same shape
// (rewrite.Plan.Shape: the same text up to literal values) found encrypted fields and returned at
// least extendedMinRows rows: the first Query of a shape goes as it is, and what its result held
// is remembered at its CommandComplete. The client gets a Query's answers in text; a field the
// server sends in binary that pgseal does not decrypt (the table changed meanwhile) refuses the
// result as a schema change, and an error forgets the memory.

// extendedMinRows is the shortest result worth the extended sequence: for a few rows its five
// more messages cost PostgreSQL and pgseal more than the hex of their envelopes (bench/README.md,
// "simple queries in binary").
const extendedMinRows = 32

// textCodes are the result formats of a simple Query: text for every field.
var textCodes = []int16{0}

// asExtended (client loop, Query) asks for the Query to be sent as an extended sequence when the
// last result of its shape was long and had encrypted fields, and notes where to remember this
// one's.
func (ss *Session) asExtended(v *wire.Verdict, plan *rewrite.Plan, qp *queryPlan, ent *catalogEntry) {
	if v.Plan == nil || len(plan.Statements) != 1 || len(qp.stmts) != 1 || len(plan.Params) > 0 {
		return
	}
	se := &qp.stmts[0]
	st := se.st
	if se.copy != nil || len(se.settings) > 0 || st.Tx != "" || st.PrepareName != "" || st.ExecuteArgs ||
		!(st.Touches || len(se.outputs) > 0) || !shapeFixed(st.Kind, plan.SQL) {
		return
	}
	qp.memo, qp.memoVersion = plan.SQL, ent.version
	if plan.Shape != "" {
		qp.memo = plan.Shape
	}
	if m := ss.recallMemo(qp.memo, qp.memoVersion); m != nil && m.ef != nil && m.long {
		v.ResultFormats = upstreamFormats(nil, m.ef)
		if qp.extended = v.ResultFormats != nil; qp.extended {
			queriesExtended.Add(1)
		}
	}
}

// queryDescribed (server loop) returns, for a Query sent as an extended sequence, the client's
// codes (text) and records the server's; pe refuses a result with a binary field pgseal does not
// decrypt.
func (ss *Session) queryDescribed(qp *queryPlan, rd *pgproto3.RowDescription, lay *layout) (clientCodes []int16, pe *sqlstate.Error) {
	qp.up = nil
	if !qp.extended {
		return nil, nil // a Query's own formats: text, or a binary cursor's (FETCH)
	}
	qp.up = make([]int16, len(rd.Fields))
	for i, f := range rd.Fields {
		qp.up[i] = f.Format
	}
	if !upstreamAgrees(qp.up, textCodes, lay) {
		ss.stale.Store(true)
		return nil, schemaChanged()
	}
	return textCodes, nil
}

// queryDone (server loop, CommandComplete) remembers what the result of a Query that may go as an
// extended sequence held: its encrypted fields, and whether it was long (the server's row count,
// before LIKE filters).
func (ss *Session) queryDone(qp *queryPlan, tag string) {
	if qp.memo == "" {
		return
	}
	rows, _ := strconv.Atoi(tag[strings.LastIndexByte(tag, ' ')+1:]) // SELECT n, INSERT 0 n, …
	long := rows >= extendedMinRows
	if m := ss.recallMemo(qp.memo, qp.memoVersion); m != nil && m.long == long && m.ef.same(qp.lay) {
		return // nothing new: no allocation, no store
	}
	var ef *encFields
	if qp.lay != nil {
		ef = newEncFields(qp.lay)
	}
	ss.rememberEncKey(qp.memo, &encMemo{version: qp.memoVersion, ef: ef, long: long})
}

// forgetExtended (server loop) forgets what was remembered for a Query sent as an extended
// sequence that failed: a description that no longer fits its text must not fail the next one.
func (ss *Session) forgetExtended(plan wire.Plan) {
	if qp, ok := plan.(*queryPlan); ok && qp.extended {
		ss.encBySQL.Delete(qp.memo)
	}
}

// rememberEnc (server loop) records what a description (Describe S or P) of sp's text said.
func (ss *Session) rememberEnc(sp *stmtPlan, ef *encFields) {
	if shapeFixed(sp.exec.st.Kind, sp.plan.SQL) {
		ss.rememberEncKey(sp.plan.SQL, &encMemo{version: sp.ent.version, ef: ef})
	}
}

// rememberEncKey records what a result of the texts of key said (m).
func (ss *Session) rememberEncKey(key string, m *encMemo) {
	if _, known := ss.encBySQL.Swap(key, m); known {
		return
	}
	if ss.encN.Add(1) > encCacheMax {
		ss.encBySQL.Clear()
		ss.encN.Store(0)
		ss.encBySQL.Store(key, m)
	}
}

// recallEnc (client loop, Parse) gives a new statement the encrypted fields an earlier
// description of its text found under the same catalog, so that its Bind asks for them in binary.
// If the result changed shape meanwhile (DDL by another session), the rows are refused as a schema
// change (upstreamAgrees) or the server refuses the Bind's format count: never a wrong value.
func (ss *Session) recallEnc(sp *stmtPlan) {
	if !shapeFixed(sp.exec.st.Kind, sp.plan.SQL) {
		return
	}
	if m := ss.recallMemo(sp.plan.SQL, sp.ent.version); m != nil && m.ef != nil {
		sp.enc.Store(m.ef)
	}
}

// recallMemo returns what was remembered for the texts of key under the catalog version.
func (ss *Session) recallMemo(key string, version uint64) *encMemo {
	if v, ok := ss.encBySQL.Load(key); ok {
		if m := v.(*encMemo); m.version == version {
			return m
		}
	}
	return nil
}

// shapeFixed reports whether a statement's text alone fixes the number of its result columns: a
// query or DML statement without `*` and without a TABLE keyword (`TABLE t`). DDL elsewhere then
// changes their types at most, which upstreamAgrees catches; EXECUTE and FETCH name results the
// text does not show.
func shapeFixed(kind rewrite.StmtKind, sql string) bool {
	switch kind {
	case rewrite.StmtSelect, rewrite.StmtInsert, rewrite.StmtUpdate, rewrite.StmtDelete, rewrite.StmtMerge:
	default:
		return false
	}
	if strings.IndexByte(sql, '*') >= 0 {
		return false
	}
	for i := 0; i+5 <= len(sql); i++ {
		if (i == 0 || !identByte(sql[i-1])) && (i+5 == len(sql) || !identByte(sql[i+5])) && strings.EqualFold(sql[i:i+5], "table") {
			return false
		}
	}
	return true
}

func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// portalOf starts the plan of a Bind of sp: the result format codes the client asked for, and
// those sent instead (expanded) when filter inputs are appended or encrypted fields are asked
// for in binary.
func (ss *Session) portalOf(sp *stmtPlan, m *pgproto3.Bind) (pp *portalPlan, codes []int16, expanded bool) {
	if sp.enc.Load() == nil && ((sp.exec.st != nil && sp.exec.st.Touches) || len(sp.exec.outputs) > 0) {
		// Described only through portals so far (libpq's PQexecPrepared): what a portal's
		// description taught about this text serves its Binds too (recallEnc's safeguards).
		ss.recallEnc(sp)
	}
	codes, expanded = bindFormats(&sp.hidden, m.ResultFormatCodes)
	if h := hiddenOf(sp.exec.st); !expanded && h > 0 && len(codes) > 1 && sp.hidden.Load() == nil {
		// Not described yet: the filter inputs are the last fields, read in text.
		codes, expanded = append(slices.Clone(codes), make([]int16, h)...), true
	}
	pp = &portalPlan{sp: sp, formats: slices.Clone(codes), exec: sp.exec}
	if up := upstreamFormats(codes, sp.enc.Load()); up != nil {
		pp.up, codes, expanded = up, up, true
		upstreamBinary.Add(1)
	}
	return pp, codes, expanded
}
