package seal

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"

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
		ss.forgetExtended(plan)
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
	if tag != "" && (tag[0] == 'C' || tag[0] == 'A' || tag[0] == 'D') { // most tags are none of these
		for _, t := range ddlTags {
			if strings.HasPrefix(tag, t) {
				ss.stale.Store(true)
			}
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
		ss.queryDone(p, tag)
		p.idx++
		p.lay, p.out, p.up = nil, nil, nil
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
		if p.up != nil {
			codes, up = textCodes, p.up // checked against the layout at the RowDescription
		}
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
// (which replaces the rest of the result) or the metrics. d is the time spent on the row; a batch
// passes -1 and records its metrics once (decrypted).
func (ss *Session) rowDone(rd *rowDecrypt, out *rowOut, d time.Duration) (pgproto3.BackendMessage, error) {
	if out.audit != nil {
		ss.auditForeign(rd.se, out.audit)
	}
	if out.pe != nil {
		return ss.failResult(out.pe)
	}
	if d >= 0 {
		ss.decrypted(rd, out.n, d)
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

// decrypted records n values decrypted for one message, or for a batch of rows (d per row: one
// observation per batch, so that a 100,000-row result does not pay a histogram update per row on
// the loop).
func (ss *Session) decrypted(rd *rowDecrypt, n int, d time.Duration) {
	ss.sl.decSeconds.Observe(d.Seconds())
	if n > 0 && rd.se != nil && rd.se.hasKS {
		rd.se.ks.dec.Add(float64(n))
	}
}
