package seal

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/tenancy"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// schemaChangedMessage is the message of a refusal because the catalog changed under a statement.
const schemaChangedMessage = "schema changed; retry"

// Session is the encryption interceptor of one session. Request runs on the client loop and
// Response on the server loop; fields are grouped by owner.
type Session struct {
	sl     *Sealer
	info   *wire.SessionInfo
	cat    atomic.Pointer[catalogEntry] // written by the client loop (reload), read by both
	stale  atomic.Bool                  // a DDL, a contradicting RowDescription or a notification was seen
	poison atomic.Bool                  // mirrors mu.poisoned: the client loop's check of every message takes no lock

	hiddenBySQL sync.Map     // statement text -> *hiddenCols (shadow.go)
	hiddenN     atomic.Int64 // entries stored since the last clear
	encBySQL    sync.Map     // statement text -> *encMemo (formats.go)
	encN        atomic.Int64 // entries stored since the last clear

	clientListens atomic.Bool // the client LISTENs pgseal_catalog itself (notify.go)
	relisten      atomic.Bool // the client's UNLISTEN/DISCARD ALL dropped pgseal's LISTEN
	relistening   atomic.Bool // a re-LISTEN injected behind a Query is in flight (relisten.go)

	mu struct {
		sync.Mutex
		pred     *tenancy.GUC  // predicted settings: what the statements sent so far will leave
		explicit bool          // pred is inside an explicit transaction block
		syncs    int           // Query/Sync/FunctionCall sent, not yet answered by ReadyForQuery
		extended int           // extended-protocol messages since the last Sync
		vs       value.Session // confirmed value settings, copied for the client loop
		lex      lexical       // client_encoding and standard_conforming_strings (lexical.go)
		// lexInFlight counts statements sent since nothing was in flight that may turn
		// standard_conforming_strings off (lexical.go).
		lexInFlight int
		names       execNames // statements safe for SQL EXECUTE with arguments (execnames.go)
		poisoned    bool      // a result failed mid-way inside a block: fail the block (poison.go)
	}

	client clientSide // Request's (the relay's client side) only
	server serverSide // Response's (the relay's server side) only
}

// clientSide is the state only Request touches.
type clientSide struct {
	cursors map[string][]rewrite.Output // SQL cursors declared by the session, by name
}

// serverSide is the state only Response (and ResponseRows) touches.
type serverSide struct {
	conf    *tenancy.GUC // confirmed settings, driven by the server's answers
	failed  bool         // an ErrorResponse since the last ReadyForQuery
	vs      value.Session
	scratch decryptScratch
	midFail bool // a result was replaced by an error since the last ReadyForQuery
}

// keysetRef is the keyset a statement runs under, chosen when it was sent.
type keysetRef struct {
	ks       *keyring.Keyset // from the snapshot at selection (for sealing)
	id       crypto.KeysetID
	name     string
	enc, dec prometheus.Counter
}

func newSealSession(sl *Sealer, info *wire.SessionInfo, ent *catalogEntry, seed map[string]string) *Session {
	ss := &Session{sl: sl, info: info, client: clientSide{cursors: map[string][]rewrite.Output{}}}
	ss.cat.Store(ent)
	startup := startupSettings(info.Parameters)
	for name, v := range seed { // the server's word on the tracked settings
		if v == "" {
			delete(startup, name)
		} else {
			startup[name] = v
		}
	}
	ss.server.conf = tenancy.New(startup)
	ss.mu.pred = ss.server.conf.Clone()
	for k, v := range info.ServerParams {
		ss.server.vs.Set(k, v)
	}
	for _, name := range []string{"extra_float_digits", "bytea_output"} {
		if v, ok := ss.server.conf.Get(name); ok {
			ss.server.vs.Set(name, v)
		}
	}
	ss.mu.vs = ss.server.vs
	ss.mu.lex = newLexical(info.ServerParams)
	return ss
}

// ClientTypes: the messages whose handling may change.
func (ss *Session) ClientTypes() wire.TypeSet {
	return wire.Types('Q', 'P', 'B', 'D', 'E', 'S', 'F')
}

// ServerTypes: results and the messages that drive tenancy and session settings.
func (ss *Session) ServerTypes() wire.TypeSet {
	return wire.Types('T', 't', 'n', 'D', 'C', 'E', 'Z', 'S', 'H', 'd', 'c', 'A')
}

// Request implements wire.SessionInterceptor.
func (ss *Session) Request(msg pgproto3.FrontendMessage, named wire.Named) wire.Verdict {
	if v, poisoned := ss.poisoned(msg); poisoned {
		return v
	}
	switch m := msg.(type) {
	case *pgproto3.Query:
		v := ss.query(m)
		ss.noteListen(m.String)
		ss.injectRelisten(&v)
		return v
	case *pgproto3.Parse:
		v := ss.parse(m)
		ss.noteListen(m.Query)
		return v
	case *pgproto3.Bind:
		return ss.bind(m, named)
	case *pgproto3.Describe:
		return ss.describe(m, named)
	case *pgproto3.Execute:
		return ss.execute(m, named)
	case *pgproto3.Sync:
		ss.mu.Lock()
		ss.mu.syncs++
		ss.mu.extended = 0
		ss.endImplicitLocked()
		ss.mu.Unlock()
	case *pgproto3.FunctionCall:
		return ss.functionCall(m)
	}
	return wire.Verdict{}
}

// MayExec implements ExecCaller: a Query or Parse may read the catalog again or listen again
// (catalogFor) when the catalog is stale, a private one has ended, or the LISTEN was lost.
func (ss *Session) MayExec(typ byte) bool {
	if typ != 'Q' && typ != 'P' {
		return false
	}
	if ss.stale.Load() || ss.relisten.Load() {
		return true
	}
	return ss.cat.Load().private // ends with its block: read again after it (currentCatalog)
}

// catalogFor returns the catalog to analyse sql with. A stale catalog is reloaded at a safe point
// (nothing in flight); when that is impossible now, statements naming a configured table are
// refused (fail closed) until it succeeds. A catalog read inside a transaction block is the
// session's own while the block lasts, and read again after it.
func (ss *Session) catalogFor(sql string) (*catalogEntry, *sqlstate.Error) {
	cur := ss.currentCatalog()
	if !ss.relistenIfLost(cur) && ss.mentionsConfigured(sql) {
		return nil, notListening()
	}
	if !ss.stale.Load() {
		return cur, nil
	}
	if ss.info.TxStatus != nil && ss.info.TxStatus() == 'E' {
		// A failed block answers every statement but ROLLBACK with 25P02, the catalog query
		// too: read it once the block has ended. Until then statements on configured tables
		// are refused (the refusal's stand-in gets the server's own 25P02).
		if ss.mentionsConfigured(sql) {
			return nil, schemaChanged()
		}
		return cur, nil
	}
	ent, err := ss.sl.loadCatalog(ss.info)
	if err == nil {
		ss.cat.Store(ent)
		ss.stale.Store(false)
		return ent, nil
	}
	if !ss.mentionsConfigured(sql) {
		return cur, nil
	}
	if pe, ok := sqlstate.As(err); ok && pe.Code == sqlstate.InternalError && strings.HasPrefix(pe.Message, "pgseal: encrypted column") {
		return nil, pe
	}
	return nil, schemaChanged()
}

// currentCatalog returns the session's catalog, adopting a newer shared one unless the session
// uses a catalog of its own inside its transaction block.
func (ss *Session) currentCatalog() *catalogEntry {
	cur := ss.cat.Load()
	inBlock := ss.inBlock()
	if cur.private && !inBlock {
		ss.stale.Store(true) // the block's own view ended with it (catalog.go)
	}
	if e := ss.sl.cats.get(ss.info.Database); e != nil && e.version > cur.version && !(cur.private && inBlock) {
		ss.cat.Store(e)
		cur = e
	}
	return cur
}

func schemaChanged() *sqlstate.Error {
	return &sqlstate.Error{Code: sqlstate.InternalError, Message: schemaChangedMessage,
		Hint: "The definition of a table with encrypted columns changed; pgseal reloads it. Run the statement again."}
}

// mentionsConfigured is a conservative text check: does sql contain a configured table's name?
func (ss *Session) mentionsConfigured(sql string) bool {
	low := strings.ToLower(sql)
	for _, t := range ss.sl.tables {
		if strings.Contains(low, t) {
			return true
		}
	}
	return false
}

// rewriteRefusal turns an Analyze error into the client's error; Position becomes 1-based
// characters, as in PostgreSQL's ErrorResponse.
func rewriteRefusal(sql string, err error) *sqlstate.Error {
	re, ok := err.(*rewrite.Error)
	if !ok {
		return &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal while analysing the statement"}
	}
	return (&sqlstate.Error{Code: re.Code, Message: re.Message, Offset: re.Offset}).Locate(sql)
}

// valueRefusal turns a value conversion error into the client's error.
func valueRefusal(err error) *sqlstate.Error {
	if ve, ok := err.(*value.Error); ok {
		out := *ve // a copy: value's errors may be shared package values
		return &out
	}
	if pe, ok := sqlstate.As(err); ok {
		return pe
	}
	return &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal while encrypting a value"}
}

// checkSettings refuses what pgseal cannot follow: a tracked setting set to an expression only
// the server knows (the keyset would be unknown).
func (ss *Session) checkSettings(st *rewrite.Statement) *sqlstate.Error {
	for _, sc := range st.Settings {
		if sc.Dynamic && ss.sl.policy.Tracks(sc.Name) {
			return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
				Message: fmt.Sprintf("setting %s to a computed value is not supported through pgseal; use a constant or a parameter", sc.Name)}
		}
	}
	return nil
}

// checkStmtSettingsLocked refuses the setting changes of a statement that pgseal cannot follow
// (checkSettings) or that would make its analysis or keyset wrong: client_encoding and
// standard_conforming_strings (lexical.go) and the tenant rule (keysel.go), which is
// checked when the values are known (known: Query, and Bind after resolveSettings).
func (ss *Session) checkStmtSettingsLocked(st *rewrite.Statement, settings []rewrite.SettingChange, known bool) *sqlstate.Error {
	if pe := ss.checkSettings(st); pe != nil {
		return pe
	}
	if pe := ss.mu.lex.checkLexical(settings, known); pe != nil {
		return pe
	}
	if !known {
		return nil
	}
	return ss.checkTenancyLocked(ss.mu.pred, settings)
}
