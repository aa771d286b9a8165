package seal

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// stmtExec is one statement as it will run: what to decrypt, under which keyset, which settings
// it changes.
type stmtExec struct {
	st       *rewrite.Statement
	sql      string // the statement's own text (savepoint and DEALLOCATE names)
	outputs  []rewrite.Output
	ks       keysetRef // zero when no keyset was needed or selectable
	hasKS    bool
	settings []rewrite.SettingChange
	copy     *copyPlan // COPY with encrypted fields (copystmt.go)
	prepSeq  uint64    // SQL PREPARE: its tick in execNames (execnames.go)
	filters  filterSet // LIKE conditions pgseal decides on the rows (filter.go)
	dropped  int       // rows the filters dropped since the last CommandComplete or PortalSuspended
}

// queryPlan is the wire.Plan of a simple Query. The server loop advances idx at each CommandComplete.
type queryPlan struct {
	stmts []stmtExec
	idx   int
	lay   *layout   // layout of the result being received
	out   *copyOut  // server loop: the COPY TO being decrypted
	hold  *relisten // its ReadyForQuery waits for the re-LISTEN injected behind it (relisten.go)
	// A Query sent as an extended sequence (formats.go): the key its description is remembered
	// under ("" when none), whether pgseal asked for binary fields, and the formats the server
	// sends the current result in when it did.
	memo        string
	memoVersion uint64
	extended    bool
	up          []int16
}

func (q *queryPlan) current() *stmtExec {
	if q.idx < len(q.stmts) {
		return &q.stmts[q.idx]
	}
	return nil
}

// needsPlan reports whether a statement's answers need the interceptor.
func needsPlan(st *rewrite.Statement, outputs []rewrite.Output) bool {
	return st.Touches || len(outputs) > 0 || len(st.Settings) > 0 || st.Tx != "" || st.PrepareName != "" ||
		st.ExecuteArgs || st.Kind == rewrite.StmtDeallocate || st.Kind == rewrite.StmtDiscard
}

// query handles a simple Query: analyse, pick a keyset per statement, encrypt literals.
func (ss *Session) query(q *pgproto3.Query) wire.Verdict {
	ss.mu.Lock()
	ss.mu.syncs++
	ss.mu.Unlock()
	ent, pe := ss.catalogFor(q.String)
	if pe != nil {
		return ss.refuseQuery(pe)
	}
	plan, err := ss.sl.analyze(ent, q.String)
	if err != nil {
		return ss.refuseQuery(rewriteRefusal(q.String, err))
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	defer ss.endImplicitLocked()
	if !ss.mu.lex.safe() && !allowWhileUnsafe(q.String, plan) {
		return wire.Verdict{Refuse: ss.mu.lex.unsafeRefusal()}
	}
	if pe := ss.scsRefusalLocked(q.String); pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	qp := &queryPlan{stmts: make([]stmtExec, 0, len(plan.Statements))}
	need := false
	for _, st := range plan.Statements {
		se, pe := ss.prepareStmtLocked(st, plan.SQL, ent)
		if pe != nil {
			return wire.Verdict{Refuse: pe}
		}
		ss.predictLocked(st, se.sql, st.Settings)
		need = need || needsPlan(st, se.outputs)
		qp.stmts = append(qp.stmts, se)
	}
	need = need || mentionsShadow(ent, q.String)
	v := wire.Verdict{}
	if need {
		v.Plan = qp
	}
	if pe := ss.copyInVerdict(&v, qp); pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	ss.asExtended(&v, plan, qp, ent)
	if len(plan.Edits) == 0 {
		return v
	}
	vs := ss.mu.vs
	start := time.Now()
	n := 0
	sql, err := plan.Render(func(e rewrite.Edit) (string, error) {
		n++
		return ss.literal(e, stmtAt(plan, qp.stmts, e.Start), &vs, ent)
	})
	if err != nil {
		return wire.Verdict{Refuse: valueRefusal(err)}
	}
	ss.countEncrypt(qp.stmts, n, start)
	v.Replace = &pgproto3.Query{String: sql}
	return v
}

// refuseQuery refuses a Query (the implicit block it would have opened ends at once).
func (ss *Session) refuseQuery(pe *sqlstate.Error) wire.Verdict {
	ss.mu.Lock()
	ss.endImplicitLocked()
	ss.mu.Unlock()
	return wire.Verdict{Refuse: pe}
}

// prepareStmtLocked checks one statement and picks its keyset from the predicted settings.
func (ss *Session) prepareStmtLocked(st *rewrite.Statement, sql string, ent *catalogEntry) (stmtExec, *sqlstate.Error) {
	se := stmtExec{st: st, sql: sql[st.Start:min(st.End, len(sql))], outputs: st.Outputs, settings: st.Settings}
	if pe := ss.checkStmtSettingsLocked(st, st.Settings, true); pe != nil {
		return se, pe
	}
	var pe *sqlstate.Error
	if se.prepSeq, pe = ss.noteStmtLocked(st); pe != nil {
		return se, pe
	}
	if se.copy, pe = copyPlanOf(st, ent); pe != nil {
		return se, pe
	}
	se.outputs = ss.cursorOutputs(st)
	if se.filters, pe = ss.compileFilters(st, nil, &ss.mu.vs); pe != nil {
		return se, pe
	}
	if st.Touches || len(se.outputs) > 0 {
		ks, pe := ss.selectKeyset(ss.mu.pred)
		if pe == nil {
			pe = rotatingRefusal(st, ks)
		}
		if pe != nil {
			return se, pe
		}
		se.ks, se.hasKS = ks, true
	}
	return se, nil
}

// stmtAt finds the statement an edit at byte offset pos belongs to.
func stmtAt(plan *rewrite.Plan, stmts []stmtExec, pos int) *stmtExec {
	for i, st := range plan.Statements {
		if pos >= st.Start && pos < st.End && i < len(stmts) {
			return &stmts[i]
		}
	}
	if len(stmts) > 0 {
		return &stmts[len(stmts)-1]
	}
	return nil
}

// literal renders one literal edit as a bytea literal: the envelope (EditEncrypt) or the
// equality term (EditTerm) of the literal's value as the column's plaintext type.
func (ss *Session) literal(e rewrite.Edit, se *stmtExec, vs *value.Session, ent *catalogEntry) (string, error) {
	if se == nil || !se.hasKS || e.Column == nil {
		return "", &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal: literal without a keyset"}
	}
	col, err := columnOf(e.Column, ent)
	if err != nil {
		return "", err
	}
	if e.Kind == rewrite.EditTermArray {
		return ss.termArrayLiteral(e.Literal, sealAsArray(e.Ord), se, col, vs)
	}
	switch e.Kind {
	case rewrite.EditMatch:
		return matchLiteral(e, se, col)
	case rewrite.EditKeyset:
		return strings.ReplaceAll(e.Text, rewrite.KeysetPlaceholder, ss.byteaLiteral(se.ks.id[:])), nil
	}
	vc := valueCast{typ: e.Cast, len: e.CastLen, inList: e.InList}
	if e.Numeric {
		vc.declared = value.Numeric // `1.5::int8`: numeric, then the cast (rounded)
	}
	out, err := sealCast(se.ks.ks, col, sealAsEdit(e.Kind), vc, value.FormatText, []byte(e.Literal), vs)
	if err != nil {
		return "", err
	}
	return ss.byteaLiteral(out), nil
}

// termArrayLiteral renders an array literal compared with = ANY / <> ALL as an array of the
// elements' equality terms, or order terms (as asOrd: rewrite.Edit.Ord): ARRAY['\x…'::bytea,
// NULL, …]::bytea[] ('{}'::bytea[] when empty). NULL elements stay NULL (they match nothing,
// as before).
func (ss *Session) termArrayLiteral(lit string, as sealAs, se *stmtExec, col *column.Column, vs *value.Session) (string, error) {
	elems, err := textArray(lit, col.Type)
	if err != nil {
		return "", err
	}
	if len(elems) == 0 {
		return "'{}'::bytea[]", nil
	}
	var sb strings.Builder
	sb.WriteString("ARRAY[")
	for i, el := range elems {
		if i > 0 {
			sb.WriteString(", ")
		}
		if el == nil {
			sb.WriteString("NULL")
			continue
		}
		plain, err := value.Encode(nil, col.Type, value.FormatText, el, vs)
		if err != nil {
			return "", err
		}
		term, err := elementTerm(se.ks.ks, col, as, plain)
		if err != nil {
			return "", err
		}
		sb.WriteString(ss.byteaLiteral(term))
	}
	sb.WriteString("]::bytea[]")
	return sb.String(), nil
}

// byteaLiteral writes E'\\x…'::bytea: an escape string reads the same whatever
// standard_conforming_strings is when the server lexes it (lexical.go).
func (ss *Session) byteaLiteral(b []byte) string {
	var sb strings.Builder
	sb.Grow(2*len(b) + 16)
	sb.WriteString(`E'\\x`)
	sb.WriteString(hex.EncodeToString(b))
	sb.WriteString(`'::bytea`)
	return sb.String()
}

func (ss *Session) countEncrypt(stmts []stmtExec, n int, start time.Time) {
	if n == 0 {
		return
	}
	ss.sl.encSeconds.Observe(time.Since(start).Seconds())
	for i := range stmts {
		if stmts[i].hasKS {
			stmts[i].ks.enc.Add(float64(n))
			return
		}
	}
}

// cursorOutputs returns a statement's encrypted outputs, remembering those of DECLARE so that a
// later FETCH from the cursor (client loop) decrypts the same positions.
func (ss *Session) cursorOutputs(st *rewrite.Statement) []rewrite.Output {
	cursor := strings.ToLower(st.Cursor)
	switch st.Kind {
	case rewrite.StmtDeclare:
		if len(st.Outputs) > 0 {
			ss.client.cursors[cursor] = st.Outputs
		} else {
			delete(ss.client.cursors, cursor)
		}
	case rewrite.StmtFetch:
		return ss.client.cursors[cursor]
	}
	return st.Outputs
}
