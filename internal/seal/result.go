package seal

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// layout says which fields of a result carry an encrypted column.
type layout struct {
	fields []layField // one per result field; col nil for plain ones
	hidden []int      // positions of hidden shadow columns (shadow.go)
}

type layField struct {
	hide   bool // a migration shadow column: not shown to the client
	col    *rewrite.Column
	cc     *column.Column // col's column (its envelope's id), from the catalog entry
	t      value.Type
	format int16 // from RowDescription (a statement's Describe says 0: use the Bind's codes)
}

// Response implements SessionInterceptor (server loop).
func (ss *Session) Response(plan wire.Plan, msg pgproto3.BackendMessage) (pgproto3.BackendMessage, error) {
	if rp, ok := plan.(*relistenPlan); ok {
		return ss.relistenResponse(rp, msg), nil
	}
	switch m := msg.(type) {
	case *pgproto3.DataRow:
		return ss.dataRow(plan, m)
	case *pgproto3.RowDescription:
		return ss.rowDescription(plan, m)
	case *pgproto3.ParameterDescription:
		return ss.paramDescription(plan, m), nil
	case *pgproto3.NotificationResponse:
		return ss.notification(m), nil
	case *pgproto3.CopyOutResponse:
		return ss.copyOutStart(plan, m)
	case *pgproto3.CopyData:
		return ss.copyOutData(plan, m, m.Data, false)
	case *pgproto3.CopyDone:
		return ss.copyOutData(plan, m, nil, true)
	case *pgproto3.NoData:
		if d, ok := plan.(*describePlan); ok && d.internal {
			return nil, nil
		}
	case *pgproto3.CommandComplete:
		if tag := ss.commandComplete(plan, string(m.CommandTag)); tag != string(m.CommandTag) {
			return &pgproto3.CommandComplete{CommandTag: []byte(tag)}, nil
		}
	case *pgproto3.PortalSuspended:
		if p, ok := plan.(*portalPlan); ok {
			p.exec.dropped = 0
		}
	case *pgproto3.ErrorResponse:
		ss.server.failed = true
	case *pgproto3.ReadyForQuery:
		ss.server.scratch.vals.forgetKeys()
		out := ss.readyForQuery(m)
		if qp, ok := plan.(*queryPlan); ok && qp.hold != nil {
			qp.hold.held = &pgproto3.ReadyForQuery{TxStatus: out.(*pgproto3.ReadyForQuery).TxStatus}
			return nil, nil
		}
		return out, nil
	case *pgproto3.ParameterStatus:
		ss.server.vs.Set(m.Name, m.Value)
		ss.mu.Lock()
		ss.mu.vs = ss.server.vs
		ss.mu.Unlock()
		if err := ss.lexicalStatus(m.Name, m.Value); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// ddlTags are CommandComplete tags after which the catalog may be stale.
// Views, rules and partitions/children (CREATE TABLE … PARTITION OF, ALTER TABLE … ATTACH
// PARTITION or INHERIT) change which relations are refused or encrypted.
var ddlTags = []string{"CREATE TABLE", "ALTER TABLE", "DROP TABLE", "DROP SCHEMA", "ALTER SCHEMA",
	"CREATE VIEW", "ALTER VIEW", "DROP VIEW", "CREATE RULE", "ALTER RULE", "DROP RULE",
	"ALTER MATERIALIZED VIEW", "DROP MATERIALIZED VIEW"}

// commandComplete applies a statement's end and returns the tag the client gets (filter.go).
func (ss *Session) commandComplete(plan wire.Plan, tag string) string {
	for _, t := range ddlTags {
		if strings.HasPrefix(tag, t) {
			ss.stale.Store(true)
		}
	}
	out := tag
	switch p := plan.(type) {
	case *queryPlan:
		if se := p.current(); se != nil {
			ss.confirm(se, se.settings, tag)
			out = filteredTag(tag, se.dropped)
		} else {
			applyTag(ss.server.conf, tag)
		}
		p.idx++
		p.lay, p.out = nil, nil
	case *portalPlan:
		ss.confirm(&p.exec, p.exec.settings, tag)
		out, p.exec.dropped = filteredTag(tag, p.exec.dropped), 0
	default:
		applyTag(ss.server.conf, tag)
		switch tag {
		case "DISCARD ALL", "DEALLOCATE ALL":
			ss.info.ForgetStatements(true, "")
		}
	}
	return out
}

// rowDescription finds the encrypted fields, records the layout for the rows to come and shows
// the client the plaintext types. A description that contradicts the catalog refuses the
// statement and schedules a reload (fail closed).
func (ss *Session) rowDescription(plan wire.Plan, rd *pgproto3.RowDescription) (pgproto3.BackendMessage, error) {
	outputs, hidden, dest, internal := describedBy(plan)
	lay, ok := ss.buildLayout(rd, outputs, hidden)
	if !ok || (lay != nil && dest == nil) {
		ss.stale.Store(true)
		ss.sl.log.Warn("result description contradicts the catalog; reloading it", zap.String("database", ss.info.Database))
		return ss.failResult(schemaChanged())
	}
	if dest != nil {
		*dest = lay
	}
	var clientCodes []int16 // the portal's codes when pgseal sent others (formats.go)
	if d, ok := plan.(*describePlan); ok {
		clientCodes = ss.describedLayout(d, lay)
	}
	if internal {
		return nil, nil
	}
	if lay == nil && clientCodes == nil {
		return rd, nil
	}
	return plaintextDescription(rd, lay, clientCodes), nil
}

// describedBy returns the outputs a RowDescription answering plan describes, how many trailing
// fields are filter inputs to hide (filter.go), where its layout is kept (nil when nowhere) and
// whether pgseal sent the Describe itself.
func describedBy(plan wire.Plan) (outputs []rewrite.Output, hidden int, dest **layout, internal bool) {
	switch p := plan.(type) {
	case *queryPlan:
		if se := p.current(); se != nil {
			outputs, hidden = se.outputs, hiddenOf(se.st)
		}
		dest = &p.lay
	case *describePlan:
		internal = p.internal
		outputs, hidden = p.sp.exec.outputs, hiddenOf(p.sp.exec.st)
		if p.pp != nil {
			dest = &p.pp.lay
		} else {
			dest = &p.sp.lay
		}
	}
	return outputs, hidden, dest, internal
}

// describedLayout records what a Describe's answer taught about the statement (the fields to ask
// for in binary, hidden shadow columns) and returns the portal's own format codes when pgseal
// asked the server for others.
func (ss *Session) describedLayout(d *describePlan, lay *layout) (clientCodes []int16) {
	if d.pp != nil && d.pp.up != nil {
		clientCodes = d.pp.formats
	}
	var ef *encFields
	if lay != nil {
		ef = newEncFields(lay)
	}
	if d.pp == nil {
		d.sp.enc.Store(ef)
	}
	ss.rememberEnc(d.sp, ef) // for the next Parse of the same text (formats.go)
	if lay != nil && len(lay.hidden) > 0 {
		ss.rememberHidden(d.sp, &hiddenCols{total: len(lay.fields), pos: lay.hidden, version: d.sp.ent.version})
	}
	return clientCodes
}

// plaintextDescription is rd as the client should see it: the encrypted fields with their
// plaintext types, the client's format codes, hidden fields dropped.
func plaintextDescription(rd *pgproto3.RowDescription, lay *layout, clientCodes []int16) *pgproto3.RowDescription {
	out := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(rd.Fields))}
	copy(out.Fields, rd.Fields)
	if clientCodes != nil {
		for i := range out.Fields {
			out.Fields[i].Format = formatAt(clientCodes, i)
		}
	}
	if lay == nil {
		return out
	}
	for i, f := range lay.fields {
		if f.col != nil {
			out.Fields[i].DataTypeOID = f.t.OID()
			out.Fields[i].DataTypeSize = f.t.Size()
			out.Fields[i].TypeModifier = -1
		}
	}
	out.Fields = visibleFields(out.Fields, lay)
	return out
}

// buildLayout returns the layout (nil when no field is encrypted) and false on a contradiction:
// an encrypted origin that is not bytea, or a pending (plaintext) origin that is bytea now.
func (ss *Session) buildLayout(rd *pgproto3.RowDescription, outputs []rewrite.Output, hidden int) (*layout, bool) {
	ent := ss.cat.Load()
	info := ent.info
	var lay *layout
	for i, f := range rd.Fields {
		var col *rewrite.Column
		if f.TableOID != 0 {
			a := catalog.Attr{Table: f.TableOID, Number: int16(f.TableAttributeNumber)}
			if ss.shadowField(info, &rd.Fields[i], a) {
				if lay == nil {
					lay = &layout{fields: make([]layField, len(rd.Fields))}
				}
				lay.fields[i].hide = true
				lay.hidden = append(lay.hidden, i)
				continue
			}
			if c, ok := info.ByAttr[a]; ok {
				col = c
			} else if _, ok := info.PendingAttr[a]; ok {
				if f.DataTypeOID == oidBytea {
					return nil, false
				}
				continue
			}
		}
		if col == nil {
			for _, o := range outputs {
				if o.Position == i {
					col = o.Column
					break
				}
			}
		}
		if col == nil {
			continue
		}
		if f.DataTypeOID != oidBytea {
			return nil, false
		}
		t, ok := info.Types[col.ID]
		if !ok {
			var err error
			if t, err = value.ParseType(col.Type); err != nil {
				return nil, false
			}
		}
		cc, err := columnOf(col, ent)
		if err != nil {
			return nil, false
		}
		if lay == nil {
			lay = &layout{fields: make([]layField, len(rd.Fields))}
		}
		lay.fields[i] = layField{col: col, cc: cc, t: t, format: f.Format}
	}
	return hideFilterInputs(lay, len(rd.Fields), hidden)
}

// hiddenOf is the number of filter inputs rewrite appended to st's result (0 without st).
func hiddenOf(st *rewrite.Statement) int {
	if st == nil {
		return 0
	}
	return st.Hidden
}

// hideFilterInputs marks the last hidden fields, which rewrite appended as the inputs of LIKE
// filters: each must be an encrypted column (else the description contradicts the plan).
func hideFilterInputs(lay *layout, fields, hidden int) (*layout, bool) {
	if hidden == 0 {
		return lay, true
	}
	if lay == nil || hidden > fields {
		return nil, false
	}
	for i := fields - hidden; i < fields; i++ {
		if lay.fields[i].col == nil || lay.fields[i].hide {
			return nil, false
		}
		lay.fields[i].hide = true
		lay.hidden = append(lay.hidden, i)
	}
	return lay, true
}

// paramDescription shows the client, for encrypted parameters, the types PostgreSQL would show for
// plaintext columns (stmtPlan.clientOIDs: declared, else inferred) instead of bytea.
func (ss *Session) paramDescription(plan wire.Plan, pd *pgproto3.ParameterDescription) pgproto3.BackendMessage {
	d, ok := plan.(*describePlan)
	if !ok {
		return pd
	}
	if d.internal {
		return nil
	}
	out := &pgproto3.ParameterDescription{ParameterOIDs: append([]uint32(nil), pd.ParameterOIDs...)}
	for i := range out.ParameterOIDs {
		if i < len(d.sp.clientOIDs) && d.sp.clientOIDs[i] != 0 {
			out.ParameterOIDs[i] = d.sp.clientOIDs[i]
		}
	}
	return out
}

// failResult replaces the rest of a response with pe (see wire.SkipToReady).
func (ss *Session) failResult(pe *sqlstate.Error) (pgproto3.BackendMessage, error) {
	ss.server.failed, ss.server.midFail = true, true
	ss.sl.m.Refusals.WithLabelValues(pe.Code).Inc()
	e := *pe
	e.Severity = sqlstate.SeverityError
	return e.ErrorResponse(), wire.SkipToReady
}

// dataRow decrypts the encrypted fields of one row.
func (ss *Session) dataRow(plan wire.Plan, dr *pgproto3.DataRow) (pgproto3.BackendMessage, error) {
	rd, pass, pe := ss.resultDecrypt(plan)
	if pe != nil {
		return ss.failResult(pe)
	}
	if pass {
		return dr, nil
	}
	start := time.Now()
	out := &ss.server.scratch.out
	rd.decrypt(&ss.server.scratch.vals, dr.Values, out)
	return ss.rowDone(&rd, out, time.Since(start))
}

// resultDecrypt returns how to decrypt the rows of plan's current result: pass when they need
// nothing, pe when they must not be forwarded at all.
func (ss *Session) resultDecrypt(plan wire.Plan) (rd rowDecrypt, pass bool, pe *sqlstate.Error) {
	var lay *layout
	var codes, up []int16
	var se *stmtExec
	switch p := plan.(type) {
	case *queryPlan:
		lay, se = p.lay, p.current()
	case *portalPlan:
		lay, se = p.lay, &p.exec
		if lay == nil {
			lay, codes = p.sp.lay, p.formats
		}
		if p.up != nil {
			// The description's formats are pgseal's; the client's are in p.formats.
			codes, up = p.formats, p.up
			if !upstreamAgrees(up, codes, lay) {
				ss.stale.Store(true)
				return rd, false, schemaChanged()
			}
		}
	}
	if lay == nil {
		if se != nil && (len(se.outputs) > 0 || len(se.filters) > 0) {
			// Rows of encrypted outputs without a description: never forward ciphertext.
			return rd, false, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal has no description of this result; describe the statement first"}
		}
		return rd, true, nil
	}
	rd = rowDecrypt{snap: ss.sl.kr.Snapshot(), lay: lay, codes: codes, up: up, se: se, vs: &ss.server.vs}
	if se != nil {
		rd.filters = se.filters
	}
	return rd, false, nil
}

// rowDone applies the effects of one decrypted row, in row order: the audit line, the failure
// (which replaces the rest of the result) or the metrics. d is the time spent on the row.
func (ss *Session) rowDone(rd *rowDecrypt, out *rowOut, d time.Duration) (pgproto3.BackendMessage, error) {
	if out.audit != nil {
		ss.auditForeign(rd.se, out.audit)
	}
	if out.pe != nil {
		return ss.failResult(out.pe)
	}
	ss.sl.decSeconds.Observe(d.Seconds())
	if out.n > 0 && rd.se != nil && rd.se.hasKS {
		rd.se.ks.dec.Add(float64(out.n))
	}
	if out.drop {
		rd.se.dropped++
		return nil, nil // a row the LIKE filters rejected: the client never sees it
	}
	return &out.row, nil
}

// decryptScratch holds buffers reused from row to row (the row is sent before the next arrives)
// and the batch of rows being answered (rows.go).
type decryptScratch struct {
	vals  valueScratch
	out   rowOut
	batch *rowBatch        // between ResponseRows and RowsSent
	plain []wire.RowAnswer // ResponseRows' answers for rows that need no decryption
}

// resultFormat is field i's format for Bind codes; nil codes mean the description's (f.format).
func resultFormat(codes []int16, i int, f layField) int16 {
	if codes == nil {
		return f.format
	}
	return formatAt(codes, i)
}

// open checks the envelope's keyset against the statement's and decrypts it (COPY TO's values).
func (sc *decryptScratch) open(ss *Session, snap *keyring.Snapshot, env []byte, col *rewrite.Column, cc *column.Column, se *stmtExec) ([]byte, *sqlstate.Error) {
	plain, audit, pe := sc.vals.open(snap, env, col, cc, se, -1)
	if audit != nil {
		ss.auditForeign(se, audit)
	}
	return plain, pe
}

// auditForeign logs a refused value of another keyset (who asked, under which keyset, for what).
func (ss *Session) auditForeign(se *stmtExec, a *auditNote) {
	ss.sl.log.Warn("audit: value of another keyset refused", zap.String("client", ss.info.User),
		zap.String("session_keyset", se.ks.name), zap.String("row_keyset", a.rowKeyset), zap.String("column", a.column))
}

func corruptValue(col *rewrite.Column) *sqlstate.Error {
	return &sqlstate.Error{Code: sqlstate.DataCorrupted, Message: "encrypted value in " + col.Table + "." + col.Name + " is corrupted or was tampered with"}
}
