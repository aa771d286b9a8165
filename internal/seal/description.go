package seal

import (
	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// The answers that describe a result (RowDescription): which fields carry an encrypted column,
// what the client is shown instead of bytea, and which trailing fields are hidden filter inputs.

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
	var clientCodes []int16 // the portal's or Query's codes when pgseal sent others (formats.go)
	switch p := plan.(type) {
	case *describePlan:
		clientCodes = ss.describedLayout(p, lay)
	case *queryPlan:
		var pe *sqlstate.Error
		if clientCodes, pe = ss.queryDescribed(p, rd, lay); pe != nil {
			return ss.failResult(pe)
		}
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
