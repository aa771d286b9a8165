package seal

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// OIDs of the ciphertext types encrypted parameters are sent as.
const (
	oidBytea      = 17
	oidByteaArray = 1001
)

// stmtPlan is the wire.Plan of a Parse: the prepared statement's analysis.
type stmtPlan struct {
	plan       *rewrite.Plan
	ent        *catalogEntry
	exec       stmtExec                   // st, sql, outputs, settings (unresolved parameters)
	types      []value.Type               // per parameter: plaintext type of encrypted ones
	clientOIDs []uint32                   // per parameter: the OID the client sees (0 = as the server says; describedOID)
	litKS      *crypto.KeysetID           // literals sealed at Parse under this keyset …
	litGen     uint32                     // … and its primary generation then (and so its index generation)
	hide       bool                       // may return a migration shadow column
	hidden     atomic.Pointer[hiddenCols] // from the server loop's Describe S

	describeSent bool                      // client loop: a Describe S was sent for it
	lay          *layout                   // server loop: from Describe S (formats unknown)
	enc          atomic.Pointer[encFields] // from the server loop's Describe S (formats.go)
}

// portalPlan is the wire.Plan of a Bind (and of the Executes of its portal).
type portalPlan struct {
	sp       *stmtPlan
	formats  []int16 // result format codes as the client sent them
	up       []int16 // the codes sent instead, encrypted fields in binary (nil: the client's)
	exec     stmtExec
	describe bool     // client loop: a Describe P was sent for it
	lay      *layout  // server loop: from Describe P (with formats)
	out      *copyOut // server loop: the COPY TO being decrypted
}

// describePlan is the wire.Plan of a Describe; internal ones were added by pgseal.
type describePlan struct {
	sp       *stmtPlan
	pp       *portalPlan
	internal bool
}

func (ss *Session) countExtended() {
	ss.mu.Lock()
	ss.mu.extended++
	ss.mu.Unlock()
}

// parse analyses a Parse: encrypted parameters are sent as bytea (bytea[] for arrays of terms),
// literals are encrypted under the keyset selected now.
func (ss *Session) parse(m *pgproto3.Parse) wire.Verdict {
	ss.countExtended()
	if pe := ss.parseGuard(m.Name, m.Query); pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	ent, pe := ss.catalogFor(m.Query)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	plan, err := ss.sl.analyze(ent, m.Query)
	if err != nil {
		return wire.Verdict{Refuse: rewriteRefusal(m.Query, err)}
	}
	hide := mentionsShadow(ent, m.Query)
	if len(plan.Statements) == 0 && !hide {
		return wire.Verdict{}
	}
	if len(plan.Statements) > 1 {
		if plan.Touches() {
			return wire.Verdict{Refuse: &sqlstate.Error{Code: sqlstate.SyntaxError, Message: "cannot insert multiple commands into a prepared statement"}}
		}
		return wire.Verdict{}
	}
	st := &rewrite.Statement{} // not parsed: names no encrypted table
	if len(plan.Statements) == 1 {
		st = plan.Statements[0]
	}
	if pe := ss.parseStmtGuard(st); pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	cp, pe := copyPlanOf(st, ent)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	outputs := ss.cursorOutputs(st)
	if !needsPlan(st, outputs) && !hide && cp == nil {
		return catalogViewParse(m, plan, st)
	}
	sp := &stmtPlan{plan: plan, ent: ent, hide: hide, exec: stmtExec{st: st, sql: plan.SQL[st.Start:min(st.End, len(plan.SQL))], outputs: outputs, settings: st.Settings, copy: cp}}
	if hide {
		ss.recallHidden(sp)
	}
	ss.recallEnc(sp) // formats.go
	oids, pe := ss.paramTypes(sp, m.ParameterOIDs)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	sql, pe := ss.parseLiterals(sp)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	if sql == m.Query && slices.Equal(oids, m.ParameterOIDs) {
		return wire.Verdict{Plan: sp}
	}
	return wire.Verdict{Plan: sp, Replace: &pgproto3.Parse{Name: m.Name, Query: sql, ParameterOIDs: oids}}
}

// catalogViewParse sends a statement that needs no plan as it is, or, when it reads catalog
// relations rewrite patched to show plaintext types (Statement.CatalogView), with the patch: its
// edits are all static, and its results carry no encrypted value.
func catalogViewParse(m *pgproto3.Parse, plan *rewrite.Plan, st *rewrite.Statement) wire.Verdict {
	if !st.CatalogView {
		return wire.Verdict{}
	}
	sql, err := plan.Render(nil)
	if err != nil {
		return wire.Verdict{Refuse: valueRefusal(err)}
	}
	return wire.Verdict{Replace: &pgproto3.Parse{Name: m.Name, Query: sql, ParameterOIDs: m.ParameterOIDs}}
}

// parseLiterals renders the statement, sealing literal edits under the keyset selected now.
func (ss *Session) parseLiterals(sp *stmtPlan) (string, *sqlstate.Error) {
	dynamic := false
	for _, e := range sp.plan.Edits {
		dynamic = dynamic || e.Kind != rewrite.EditStatic
	}
	if !dynamic {
		sql, err := sp.plan.Render(nil)
		if err != nil {
			return "", valueRefusal(err)
		}
		return sql, nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ks, pe := ss.selectKeyset(ss.mu.pred)
	if pe == nil {
		pe = rotatingRefusal(sp.exec.st, ks)
	}
	if pe != nil {
		return "", pe
	}
	se := sp.exec
	se.ks, se.hasKS = ks, true
	vs := ss.mu.vs
	id := ks.id
	sp.litKS, sp.litGen = &id, ks.ks.PrimaryGeneration()
	sql, err := sp.plan.Render(func(e rewrite.Edit) (string, error) { return ss.literal(e, &se, &vs, sp.ent) })
	if err != nil {
		return "", valueRefusal(err)
	}
	ks.enc.Inc()
	return sql, nil
}

// bind encrypts a Bind's parameters under the keyset selected now.
func (ss *Session) bind(m *pgproto3.Bind, named wire.Named) wire.Verdict {
	ss.countExtended()
	raw, ok := named.Plan, named.Known
	if !ok {
		return wire.Verdict{Refuse: &sqlstate.Error{Code: sqlstate.InvalidSQLStatementName, Message: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)}}
	}
	sp, _ := raw.(*stmtPlan)
	if sp == nil {
		return wire.Verdict{}
	}
	pp, codes, expanded := ss.portalOf(sp, m)
	settings, pe := ss.resolveSettings(sp.exec.settings, m)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	pp.exec.settings = settings
	ss.mu.Lock()
	pe = ss.checkStmtSettingsLocked(sp.exec.st, settings, true)
	ss.mu.Unlock()
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	if !sp.exec.st.Touches && len(sp.exec.outputs) == 0 {
		if expanded {
			return wire.Verdict{Plan: pp, Replace: withFormats(m, codes)}
		}
		return wire.Verdict{Plan: pp}
	}
	ks, vs, pe := ss.bindKeyset(sp)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	pp.exec.ks, pp.exec.hasKS = ks, true
	repl, pe := ss.encryptBind(m, sp, ks, &vs)
	if pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	if pp.exec.filters, pe = ss.compileFilters(sp.exec.st, m, &vs); pe != nil {
		return wire.Verdict{Refuse: pe}
	}
	if expanded {
		if repl == nil {
			repl = withFormats(m, codes)
		}
		repl.ResultFormatCodes = codes
	}
	if repl == nil { // no typed nil in the interface
		return wire.Verdict{Plan: pp}
	}
	return wire.Verdict{Plan: pp, Replace: repl}
}

// withFormats is m with other result format codes.
func withFormats(m *pgproto3.Bind, codes []int16) *pgproto3.Bind {
	return &pgproto3.Bind{DestinationPortal: m.DestinationPortal, PreparedStatement: m.PreparedStatement,
		ParameterFormatCodes: m.ParameterFormatCodes, Parameters: m.Parameters, ResultFormatCodes: codes}
}

// resolveSettings fills set_config parameters ($N value or is_local) from the Bind.
func (ss *Session) resolveSettings(in []rewrite.SettingChange, m *pgproto3.Bind) ([]rewrite.SettingChange, *sqlstate.Error) {
	var out []rewrite.SettingChange
	for i, sc := range in {
		if sc.ValueParam == 0 && sc.LocalParam == 0 {
			continue
		}
		if out == nil {
			out = slices.Clone(in)
		}
		if n := sc.ValueParam; n > 0 {
			v, _, ok := bindParam(m, n)
			if !ok {
				return nil, &sqlstate.Error{Code: sqlstate.ProtocolViolation, Message: fmt.Sprintf("bind message supplies no parameter $%d", n)}
			}
			out[i].Value = string(v) // set_config(name, NULL, …) sets ""
		}
		if n := sc.LocalParam; n > 0 {
			v, _, ok := bindParam(m, n)
			local, valid := parseBool(v, paramFormat(m, n))
			if !ok || !valid {
				if ss.sl.policy.Tracks(sc.Name) {
					return nil, &sqlstate.Error{Code: sqlstate.FeatureNotSupported, Message: "set_config with an is_local parameter pgseal cannot read is not supported"}
				}
				continue
			}
			if local {
				out[i].Kind = rewrite.SettingSetLocal
			}
		}
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

func bindParam(m *pgproto3.Bind, n int) ([]byte, bool, bool) {
	if n < 1 || n > len(m.Parameters) {
		return nil, false, false
	}
	v := m.Parameters[n-1]
	return v, v == nil, true
}

// paramFormat applies the Bind format-code rules: none = all text, one = all, else per parameter.
func paramFormat(m *pgproto3.Bind, n int) int16 {
	switch len(m.ParameterFormatCodes) {
	case 0:
		return 0
	case 1:
		return m.ParameterFormatCodes[0]
	}
	if n-1 < len(m.ParameterFormatCodes) {
		return m.ParameterFormatCodes[n-1]
	}
	return 0
}

func parseBool(v []byte, format int16) (bool, bool) {
	if format == 1 {
		if len(v) != 1 {
			return false, false
		}
		return v[0] != 0, true
	}
	switch string(v) {
	case "t", "true", "on", "yes", "y", "1", "TRUE", "True":
		return true, true
	case "f", "false", "off", "no", "n", "0", "FALSE", "False":
		return false, true
	}
	return false, false
}

// describe notes that the client asked for a description (so pgseal need not add its own).
func (ss *Session) describe(m *pgproto3.Describe, named wire.Named) wire.Verdict {
	ss.countExtended()
	if m.ObjectType == 'S' {
		if sp, _ := named.Plan.(*stmtPlan); sp != nil {
			sp.describeSent = true
			return wire.Verdict{Plan: &describePlan{sp: sp}}
		}
		return wire.Verdict{}
	}
	if pp, _ := named.Plan.(*portalPlan); pp != nil {
		pp.describe = true
		return wire.Verdict{Plan: &describePlan{sp: pp.sp, pp: pp}}
	}
	return wire.Verdict{}
}

// execute applies the portal's settings to the predicted state and makes sure the layout of its
// rows is known before they arrive: without a Describe of the client's, pgseal adds a Describe P.
func (ss *Session) execute(m *pgproto3.Execute, named wire.Named) wire.Verdict {
	pp, _ := named.Plan.(*portalPlan)
	if pp == nil {
		ss.countExtended()
		return wire.Verdict{}
	}
	ss.mu.Lock()
	ss.mu.extended++ // countExtended, under the same lock
	ss.predictLocked(pp.exec.st, pp.exec.sql, pp.exec.settings)
	vs := ss.mu.vs
	ss.mu.Unlock()
	v := wire.Verdict{Plan: pp}
	if cp := pp.exec.copy; cp != nil && cp.from {
		// The keyset was selected (and checked) at Bind: a COPY always touches encrypted columns.
		v.CopyIn = ss.newCopyIn(cp, &pp.exec, vs)
	}
	if (pp.exec.st.Touches || len(pp.exec.outputs) > 0 || pp.sp.hide) && !pp.describe && !pp.sp.describeSent {
		pp.describe = true
		v.Before = []wire.Extra{{Msg: &pgproto3.Describe{ObjectType: 'P', Name: m.Portal}, Plan: &describePlan{sp: pp.sp, pp: pp, internal: true}}}
	}
	return v
}

// parseGuard runs before a Parse is analysed: nothing is parsed that client_encoding or
// standard_conforming_strings make the server read differently from pgseal (lexical.go),
// and a named statement stops being safe for SQL EXECUTE with arguments (it may be replaced by
// this one).
func (ss *Session) parseGuard(name, query string) *sqlstate.Error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.mu.lex.safe() {
		return ss.mu.lex.unsafeRefusal()
	}
	if pe := ss.scsRefusalLocked(query); pe != nil {
		return pe
	}
	if name != "" {
		ss.mu.names.remove(name)
	}
	return nil
}

// parseStmtGuard checks a Parse's one statement. SQL EXECUTE with arguments is refused outright
// in the extended protocol: the statement it names is looked up when the portal runs, which may
// be after the name was replaced, so no check at Parse or Bind would hold.
func (ss *Session) parseStmtGuard(st *rewrite.Statement) *sqlstate.Error {
	if st.ExecuteArgs {
		return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
			Message: "EXECUTE with arguments in the extended protocol is not supported through pgseal",
			Hint:    "Send it as a simple query, or bind the statement's parameters directly."}
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, pe := ss.noteStmtLocked(st); pe != nil {
		return pe
	}
	return ss.checkStmtSettingsLocked(st, st.Settings, false)
}
