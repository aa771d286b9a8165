package seal

import (
	"fmt"
	"strings"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/tenancy"
	"github.com/pgseal/pgseal/internal/value"
)

// The keyset pgseal encrypts under must agree with the tenant PostgreSQL sees (RLS policies read
// the tenant setting). So, besides picking the keyset by tenancy.Policy.Selection, pgseal holds
// the settings to one rule: a tenant setting that is set names a keyset the session's client may
// use, and when pgseal.keyset is set too, both name the same keyset. It is checked when a
// statement sets either (the SET is refused with 42501 and never reaches PostgreSQL, so the
// session keeps its settings) and again at every statement that needs a keyset, which covers
// states pgseal did not see being made (startup parameters, pipelined binds).

// selectKeyset picks the keyset the settings g select and checks that the session's client may
// use it: it exists, is active and is granted (docs/design.md §4), and that the settings agree. Checked
// per statement, so a revoke or disable takes effect at the next one.
func (ss *Session) selectKeyset(g *tenancy.GUC) (keysetRef, *sqlstate.Error) {
	name, err := ss.sl.policy.Selection(g)
	if err != nil {
		return keysetRef{}, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "no keyset selected",
			Hint: fmt.Sprintf("SET %s (or pgseal.keyset) to choose a keyset before using encrypted columns.", ss.sl.policy.Setting)}
	}
	snap := ss.sl.kr.Snapshot()
	ks, pe := ss.usableKeyset(snap, name)
	if pe != nil {
		return keysetRef{}, pe
	}
	if pe := ss.agree(snap, g); pe != nil {
		return keysetRef{}, pe
	}
	label := ss.sl.m.Keyset(ks.Name)
	return keysetRef{ks: ks, id: ks.ID, name: ks.Name,
		enc: ss.sl.m.ValuesEncrypted.WithLabelValues(label), dec: ss.sl.m.ValuesDecrypted.WithLabelValues(label)}, nil
}

// usableKeyset resolves a keyset name or UUID the client may use: it exists, is active, granted,
// and the keyring is not sealed (the key management service refused the master key).
func (ss *Session) usableKeyset(snap *keyring.Snapshot, name string) (*keyring.Keyset, *sqlstate.Error) {
	if snap.Sealed() != nil {
		return nil, sealedRefusal(name)
	}
	ks, ok := snap.Keyset(name)
	if !ok || !ks.Active() || !snap.Allowed(ss.info.User, ks) {
		return nil, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: fmt.Sprintf("permission denied for keyset %s", name)}
	}
	return ks, nil
}

// sealedRefusal is the refusal of a keyset while the keyring is sealed: the same SQLSTATE as any
// keyset the session may not use, and a message that says why (never the service's own words,
// which the log has).
func sealedRefusal(name string) *sqlstate.Error {
	return &sqlstate.Error{Code: sqlstate.InsufficientPrivilege,
		Message: fmt.Sprintf("keyset %s unavailable: pgseal's keyring is sealed because the key management service refused its master key", name),
		Hint:    "Encrypted columns are refused until the key management service unwraps the master key again; see pgseal's log."}
}

// agree checks the rule on settings g: the tenant setting, when set, names a usable keyset, and
// pgseal.keyset, when set too, names the same one.
func (ss *Session) agree(snap *keyring.Snapshot, g *tenancy.GUC) *sqlstate.Error {
	tenant, _ := g.Get(ss.sl.policy.Setting)
	if tenant == "" {
		return nil
	}
	tks, pe := ss.usableKeyset(snap, tenant)
	if pe != nil {
		return pe
	}
	direct, _ := g.Get(tenancy.KeysetSetting)
	if direct == "" {
		return nil
	}
	dks, pe := ss.usableKeyset(snap, direct)
	if pe != nil {
		return pe
	}
	if dks.ID != tks.ID {
		return &sqlstate.Error{Code: sqlstate.InsufficientPrivilege,
			Message: fmt.Sprintf("%s %s and %s %s name different keysets", tenancy.KeysetSetting, direct, ss.sl.policy.Setting, tenant),
			Hint:    "When both are set they must name the same keyset; RESET one of them first."}
	}
	return nil
}

// checkTenancyLocked refuses a statement whose setting changes, applied to the predicted settings
// g, would leave a tenant or keyset the client may not use, or two that disagree. Statements that
// change neither tracked setting pass untouched (RESET ALL and DISCARD ALL return to the startup
// values, which the per-statement check covers).
func (ss *Session) checkTenancyLocked(g *tenancy.GUC, settings []rewrite.SettingChange) *sqlstate.Error {
	touched := false
	for _, sc := range settings {
		touched = touched || (ss.sl.policy.Tracks(sc.Name) && !sc.Dynamic)
	}
	if !touched {
		return nil
	}
	c := g.Clone()
	applySettings(c, settings)
	snap := ss.sl.kr.Snapshot()
	if v, _ := c.Get(tenancy.KeysetSetting); v != "" {
		if _, pe := ss.usableKeyset(snap, v); pe != nil {
			return pe
		}
	}
	return ss.agree(snap, c)
}

// The tracked settings a session starts with are read from the server, not only worked out from
// the startup packet: role and database defaults (ALTER ROLE … SET app.tenant, which an ordinary
// role may run for itself) apply too, and pgseal would not see them. The query rides on the
// LISTEN every session sends (listenAfter), so it costs no round trip.

// tenancySQL reads the tracked settings (missing_ok: "" when unset). Dollar quotes read the same
// under every client_encoding and standard_conforming_strings.
func (sl *Sealer) tenancySQL() string {
	return fmt.Sprintf("SELECT pg_catalog.current_setting($pgseal$%s$pgseal$, true), pg_catalog.current_setting($pgseal$%s$pgseal$, true); ",
		sl.policy.Setting, tenancy.KeysetSetting)
}

// tenancySeed turns tenancySQL's row into startup values by lower-case name ("" = unset). A
// missing row fails the session start: the tenant PostgreSQL sees would be unknown.
func (sl *Sealer) tenancySeed(rows [][][]byte) (map[string]string, error) {
	if len(rows) != 1 || len(rows[0]) != 2 {
		return nil, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal could not read the session's tenant settings"}
	}
	return map[string]string{
		strings.ToLower(sl.policy.Setting): string(rows[0][0]),
		tenancy.KeysetSetting:              string(rows[0][1]),
	}, nil
}

// bindKeyset selects the keyset a Bind of sp runs under, with the session's value settings, and
// checks that the statement may run under it now (rotatingRefusal, literalsStale).
func (ss *Session) bindKeyset(sp *stmtPlan) (keysetRef, value.Session, *sqlstate.Error) {
	ss.mu.Lock()
	ks, pe := ss.selectKeyset(ss.mu.pred)
	vs := ss.mu.vs
	ss.mu.Unlock()
	if pe == nil {
		pe = rotatingRefusal(sp.exec.st, ks)
	}
	if pe == nil {
		pe = literalsStale(sp, ks)
	}
	return ks, vs, pe
}

// rotatingRefusal refuses a statement that uses search terms (rewrite.Statement.Terms) while its
// keyset rotates its index keys: stored values carry terms under two index generations, which
// no comparison, order or match can mix, and a write under the new one could slip past a UNIQUE
// index holding the old (docs/crypto.md §6). Other statements, and other keysets, go on.
func rotatingRefusal(st *rewrite.Statement, ks keysetRef) *sqlstate.Error {
	if st == nil || !st.Terms || ks.ks == nil || !ks.ks.IndexRotating() {
		return nil
	}
	return &sqlstate.Error{Code: sqlstate.ObjectNotInPrerequisiteState,
		Message: fmt.Sprintf("keyset %s is rotating its index keys: statements that search or write its searchable encrypted columns are refused until the rotation is done", ks.name),
		Hint:    fmt.Sprintf("Run proxy reencrypt --keyset %s, then proxy keyset retire-generation for each older generation.", ks.name)}
}

// literalsStale refuses a Bind of a statement whose literals were sealed at Parse under another
// keyset, or before the keyset was rotated: its envelopes would be written under a generation
// that may be retired, and its terms (after keyset rotate-index) would be under the old index
// keys, so the statement would silently find nothing or write a value no search finds again.
func literalsStale(sp *stmtPlan, ks keysetRef) *sqlstate.Error {
	switch {
	case sp.litKS == nil:
		return nil
	case *sp.litKS != ks.id:
		return &sqlstate.Error{Code: sqlstate.FeatureNotSupported, Message: "prepared under another keyset; prepare it again"}
	case sp.litGen != ks.ks.PrimaryGeneration():
		return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
			Message: fmt.Sprintf("prepared before keyset %s was rotated; prepare it again", ks.name)}
	}
	return nil
}
