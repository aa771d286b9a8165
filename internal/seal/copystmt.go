package seal

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// COPY of encrypted columns (issue 4, item 6), on top of copy.go's streaming transformer.
//
//   - COPY … FROM STDIN (simple Query only, alone in its Query): the wire.Verdict carries a wire.CopyIn
//     (sealCopyIn) that re-encodes each client CopyData on the client loop: every encrypted field
//     is parsed as the column's plaintext type (value.Encode, text format), sealed under the
//     keyset selected when the COPY was sent, and written as bytea hex; other bytes pass through.
//   - COPY … TO STDOUT and COPY (query) TO STDOUT: the server loop re-encodes the server's
//     CopyData between CopyOutResponse and CopyDone (copyOut): bytea text -> envelope -> keyset
//     check and Open (as for DataRow) -> value.Decode in text format.
//
// Binary COPY (copy_binary.go) works the same way on raw field bytes: FROM STDIN, a field is the
// client's binary send format of the plaintext type (value.Encode, binary) and is written as the
// envelope's raw bytes (bytea's binary form); TO STDOUT, the envelope's bytes are opened and
// written in the type's binary send format (value.Decode, binary), which is byte-identical to a
// plaintext column's. FORCE_* options on encrypted columns are refused by rewrite; a COPY with
// encrypted fields in the extended protocol is refused here.

// copyPlan is the COPY part of a statement with encrypted fields.
type copyPlan struct {
	format copyFormat
	from   bool
	cols   []*column.Column  // per field: the encrypted column, nil for plain fields
	rcols  []*rewrite.Column // the same, as rewrite names them (errors, audit lines)
}

// copyChunk is the size at which transformed client rows are sent on as one CopyData.
const copyChunk = 64 << 10

// copyPlanOf returns the copy plan of st, nil when it is no COPY or has no encrypted field.
func copyPlanOf(st *rewrite.Statement, ent *catalogEntry) (*copyPlan, *sqlstate.Error) {
	c := st.Copy
	if c == nil {
		return nil, nil
	}
	var enc *rewrite.Column
	for _, f := range c.Fields {
		if f != nil {
			enc = f
			break
		}
	}
	if enc == nil {
		return nil, nil
	}
	f, err := newCopyFormat(c)
	if err != nil {
		pe, ok := sqlstate.As(err)
		if !ok {
			pe = &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal while reading COPY options"}
		}
		return nil, pe
	}
	cp := &copyPlan{format: f, from: c.From, cols: make([]*column.Column, len(c.Fields)), rcols: c.Fields}
	for i, col := range c.Fields {
		if col == nil {
			continue
		}
		mc, err := columnOf(col, ent)
		if err != nil {
			return nil, valueRefusal(err)
		}
		cp.cols[i] = mc
	}
	return cp, nil
}

// copyRefusal makes the client's error of a failed COPY transform: the field's own error, with
// the line and field it happened at as Detail (copyStream wraps it that way; no value in it).
func copyRefusal(err error, what string) *sqlstate.Error {
	pe, ok := sqlstate.As(err)
	if !ok {
		return &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal while " + what + " COPY data"}
	}
	out := *pe
	out.Severity = sqlstate.SeverityError
	if where, found := strings.CutSuffix(err.Error(), ": "+pe.Error()); found && out.Detail == "" && where != "" {
		out.Detail = where
	}
	return &out
}

// sealCopyIn is the wire.CopyIn of one COPY … FROM STDIN (client loop).
type sealCopyIn struct {
	ss     *Session
	ks     keysetRef
	vs     value.Session
	stream copyCoder
	format int16 // value.FormatBinary for a binary COPY

	send             func([]byte) error
	buf              []byte // transformed rows not sent yet
	plain, env, text []byte
	n                int // values sealed by the current call
}

func (ss *Session) newCopyIn(cp *copyPlan, se *stmtExec, vs value.Session) *sealCopyIn {
	c := &sealCopyIn{ss: ss, ks: se.ks, vs: vs, format: value.FormatText}
	if cp.format.binary {
		c.format = value.FormatBinary
	}
	tr := make([]copyField, len(cp.cols))
	for i, col := range cp.cols {
		if col != nil {
			tr[i] = func(_ int, in []byte, null bool) ([]byte, bool, error) { return c.seal(col, in, null) }
		}
	}
	c.stream = newCopyCoder(cp.format, tr, int(ss.sl.cfg.Server.MaxMessageSize))
	return c
}

// seal turns one field's plaintext into its envelope: in text format the hex text of a bytea, in
// binary format the envelope's bytes.
func (c *sealCopyIn) seal(col *column.Column, in []byte, null bool) ([]byte, bool, error) {
	if null {
		return nil, true, nil
	}
	var err error
	if c.plain, err = value.Encode(c.plain[:0], col.Type, c.format, in, &c.vs); err != nil {
		return nil, false, valueRefusal(err)
	}
	if col.MaxChars > 0 {
		if c.plain, err = value.FitChars(c.plain, col.MaxChars, &c.vs); err != nil {
			return nil, false, valueRefusal(err)
		}
	}
	if c.env, err = col.Seal(c.env[:0], c.ks.ks, c.plain); err != nil {
		return nil, false, valueRefusal(keyError(err))
	}
	c.n++
	if c.format == value.FormatBinary {
		return c.env, false, nil
	}
	c.text = column.AppendByteaHex(c.text[:0], c.env)
	return c.text, false, nil
}

func (c *sealCopyIn) emit(row []byte) error {
	c.buf = append(c.buf, row...)
	if len(c.buf) < copyChunk {
		return nil
	}
	err := c.send(c.buf)
	c.buf = c.buf[:0]
	return err
}

// Data implements wire.CopyIn.
func (c *sealCopyIn) Data(data []byte, send func([]byte) error) error {
	return c.run(send, func() error { return c.stream.feed(data, c.emit) })
}

// Done implements wire.CopyIn.
func (c *sealCopyIn) Done(send func([]byte) error) error {
	return c.run(send, func() error { return c.stream.finish(c.emit) })
}

// run feeds the stream and sends the whole rows it completed; on a refusal nothing more is sent.
func (c *sealCopyIn) run(send func([]byte) error, feed func() error) error {
	start := time.Now()
	c.send, c.n, c.buf = send, 0, c.buf[:0]
	err := feed()
	if err == nil && len(c.buf) > 0 {
		err = send(c.buf)
	}
	if cap(c.buf) > 4*copyChunk {
		c.buf = nil
	}
	if err != nil {
		if wire.IsUpstreamError(err) {
			return err
		}
		return copyRefusal(err, "encrypting")
	}
	if c.n > 0 {
		c.ss.sl.encSeconds.Observe(time.Since(start).Seconds())
		c.ks.enc.Add(float64(c.n))
	}
	return nil
}

// copyInVerdict adds the wire.CopyIn of a Query's COPY FROM STDIN with encrypted fields. It may share
// the Query with other statements (PostgreSQL runs them in order, and the client sends its copy
// data when the server reaches the COPY), as long as the client's copy data belongs to it for
// certain and is read under the settings pgseal knows: no other COPY in the Query (its data would
// come through the same wire.CopyIn), and no statement before it that changes a setting other than the
// tenant's (DateStyle, say, would change how PostgreSQL reads the fields; the keyset is picked
// for the COPY with the statements before it).
func (ss *Session) copyInVerdict(v *wire.Verdict, qp *queryPlan) *sqlstate.Error {
	for i := range qp.stmts {
		se := &qp.stmts[i]
		if se.copy == nil || !se.copy.from {
			continue
		}
		if pe := ss.copySharing(qp, i); pe != nil {
			return pe
		}
		v.CopyIn = ss.newCopyIn(se.copy, se, ss.mu.vs)
	}
	return nil
}

// copySharing refuses what the other statements of a Query would make unsafe for its COPY FROM
// STDIN at index at (copyInVerdict).
func (ss *Session) copySharing(qp *queryPlan, at int) *sqlstate.Error {
	for j := range qp.stmts {
		st := qp.stmts[j].st
		if j != at && st.Kind == rewrite.StmtCopy && (st.Copy == nil || st.Copy.From) {
			return &sqlstate.Error{Code: sqlstate.FeatureNotSupported, Message: "COPY FROM STDIN of encrypted columns cannot share its query with another COPY"}
		}
		if j >= at {
			continue
		}
		for _, sc := range st.Settings {
			if !ss.sl.policy.Tracks(sc.Name) || sc.Kind == rewrite.SettingResetAll || sc.Kind == rewrite.SettingDiscardAll {
				return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
					Message: "COPY FROM STDIN of encrypted columns cannot follow a change of settings other than the tenant in the same query"}
			}
		}
	}
	return nil
}

// copyOut decrypts the rows of one COPY … TO STDOUT (server loop).
type copyOut struct {
	stream   copyCoder
	format   int16 // value.FormatBinary for a binary COPY
	snap     *keyring.Snapshot
	msg      pgproto3.CopyData
	buf      []byte
	env, val []byte
	n        int
}

func (ss *Session) newCopyOut(cp *copyPlan, se *stmtExec) *copyOut {
	co := &copyOut{format: value.FormatText}
	if cp.format.binary {
		co.format = value.FormatBinary
	}
	tr := make([]copyField, len(cp.cols))
	for i, col := range cp.cols {
		if col == nil {
			continue
		}
		rc := cp.rcols[i]
		tr[i] = func(_ int, in []byte, null bool) ([]byte, bool, error) { return co.open(ss, se, rc, col, in, null) }
	}
	co.stream = newCopyCoder(cp.format, tr, 0)
	return co
}

// open turns one field (the bytea text of an envelope, or its bytes in binary format) into the
// plaintext's form in the COPY's format.
func (co *copyOut) open(ss *Session, se *stmtExec, col *rewrite.Column, cc *column.Column, in []byte, null bool) ([]byte, bool, error) {
	if null {
		return nil, true, nil
	}
	var err error
	if co.format == value.FormatBinary {
		co.env = append(co.env[:0], in...)
	} else if co.env, err = column.DecodeByteaText(co.env[:0], in); err != nil {
		return nil, false, corruptValue(col)
	}
	plain, pe := ss.server.scratch.open(ss, co.snap, co.env, col, cc, se)
	if pe != nil {
		return nil, false, pe
	}
	if co.val, err = value.Decode(co.val[:0], cc.Type, plain, co.format, &ss.server.vs); err != nil {
		return nil, false, valueRefusal(err)
	}
	co.n++
	return co.val, false, nil
}

func (co *copyOut) emit(row []byte) error {
	co.buf = append(co.buf, row...)
	return nil
}

// copyOutStart begins decrypting a COPY TO's rows.
func (ss *Session) copyOutStart(plan wire.Plan, m *pgproto3.CopyOutResponse) (pgproto3.BackendMessage, error) {
	out, se := copyOutOf(plan)
	if out == nil {
		return m, nil
	}
	*out = nil
	if se == nil || se.copy == nil || se.copy.from {
		return m, nil
	}
	if (m.OverallFormat != 0) != se.copy.format.binary {
		return ss.failResult(&sqlstate.Error{Code: sqlstate.InternalError, Message: "COPY data format differs from the one pgseal read in the statement"})
	}
	*out = ss.newCopyOut(se.copy, se)
	return m, nil
}

// copyOutOf returns where a Query's or a portal's COPY TO decryption lives, and the statement
// being answered (nil, nil for other plans).
func copyOutOf(plan wire.Plan) (**copyOut, *stmtExec) {
	switch p := plan.(type) {
	case *queryPlan:
		return &p.out, p.current()
	case *portalPlan:
		return &p.out, &p.exec
	}
	return nil, nil
}

// copyOutData decrypts the rows of one server CopyData (msg, data); nothing is sent while a row is
// incomplete. At CopyDone (msg, done) the stream must end at a row boundary.
func (ss *Session) copyOutData(plan wire.Plan, msg pgproto3.BackendMessage, data []byte, done bool) (pgproto3.BackendMessage, error) {
	out, se := copyOutOf(plan)
	if out == nil || *out == nil {
		return msg, nil
	}
	co := *out
	start := time.Now()
	co.snap, co.buf, co.n = ss.sl.kr.Snapshot(), co.buf[:0], 0
	var err error
	if done {
		err = co.stream.finish(co.emit)
		if err == nil && len(co.buf) > 0 {
			err = &sqlstate.Error{Code: sqlstate.InternalError, Message: "COPY data from the server ended inside a row"}
		}
	} else {
		err = co.stream.feed(data, co.emit)
	}
	if err != nil {
		*out = nil
		return ss.failResult(copyRefusal(err, "decrypting"))
	}
	if co.n > 0 {
		ss.sl.decSeconds.Observe(time.Since(start).Seconds())
		if se != nil && se.hasKS {
			se.ks.dec.Add(float64(co.n))
		}
	}
	if done {
		*out = nil
		return msg, nil
	}
	if len(co.buf) == 0 {
		return nil, nil
	}
	co.msg.Data = co.buf
	return &co.msg, nil
}

// SyncsIgnored (server or client loop) takes back Syncs the server ignored during a COPY IN
// (internal/wire's state_copy.go): they end no implicit transaction and get no ReadyForQuery.
func (ss *Session) SyncsIgnored(n int) {
	ss.mu.Lock()
	ss.mu.syncs = max(ss.mu.syncs-n, 0)
	ss.mu.Unlock()
}
