package seal

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/wire"
)

// SQL EXECUTE name(args) runs a prepared statement with arguments pgseal never sees as
// parameters: PostgreSQL coerces each argument to the parameter's type. For a statement made by a
// protocol Parse, pgseal forced encrypted parameters to bytea, so EXECUTE s1('secret') would store
// 'secret' as plaintext bytes. Only statements made by a SQL PREPARE that passed analysis (which
// refuses PREPARE of anything touching an encrypted table) are safe to EXECUTE with arguments.
//
// execNames is that set of names. A name joins only when PostgreSQL confirmed the PREPARE
// (CommandComplete "PREPARE"): a PREPARE that failed, e.g. because a protocol statement of the
// same name exists, must not whitelist it. A Parse of the name, DEALLOCATE and DISCARD ALL remove
// names when they are sent; a confirmation of a PREPARE sent before such a removal is ignored, so
// that pipelining cannot reorder a removal and a confirmation.
type execNames struct {
	seq        uint64            // client-loop ticks: PREPAREs and removals sent
	safe       map[string]bool   // names made by a confirmed SQL PREPARE
	removed    map[string]uint64 // name -> tick of its last removal
	removedAll uint64            // tick of the last DEALLOCATE ALL / DISCARD ALL
}

func (e *execNames) tick() uint64 { e.seq++; return e.seq }

func (e *execNames) remove(name string) {
	if e.removed == nil {
		e.removed = map[string]uint64{}
	}
	e.removed[name] = e.tick()
	delete(e.safe, name)
}

func (e *execNames) removeAll() {
	e.removedAll = e.tick()
	clear(e.safe)
	clear(e.removed)
}

// confirm records a PREPARE of name, sent at tick sent, that PostgreSQL completed.
func (e *execNames) confirm(name string, sent uint64) {
	if sent == 0 || sent < e.removed[name] || sent < e.removedAll {
		return
	}
	if e.safe == nil {
		e.safe = map[string]bool{}
	}
	e.safe[name] = true
}

// noteStmtLocked applies a statement being sent to the set and refuses an EXECUTE with
// arguments of a name not in it (0A000). It returns the tick of a PREPARE (0 for others).
func (ss *Session) noteStmtLocked(st *rewrite.Statement) (uint64, *sqlstate.Error) {
	e := &ss.mu.names
	switch {
	case st.ExecuteName != "" && st.ExecuteArgs && !e.safe[st.ExecuteName]:
		return 0, &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
			Message: fmt.Sprintf("EXECUTE %s with arguments is not supported through pgseal: the statement was not made by a SQL PREPARE pgseal analysed", st.ExecuteName),
			Hint:    "Bind the statement's parameters with the extended protocol instead."}
	case st.DeallocateAll:
		e.removeAll()
	case st.DeallocateName != "":
		e.remove(st.DeallocateName)
	case st.Kind == rewrite.StmtDiscard && discardsAll(st):
		e.removeAll()
	case st.PrepareName != "" && len(st.Settings) > 0:
		// The settings would change at each EXECUTE, which pgseal does not see as such.
		return 0, &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
			Message: "PREPARE of a statement that changes settings is not supported through pgseal"}
	case st.PrepareName != "":
		e.remove(st.PrepareName) // until PostgreSQL confirms this PREPARE
		return e.tick(), nil
	}
	return 0, nil
}

func discardsAll(st *rewrite.Statement) bool {
	for _, sc := range st.Settings {
		if sc.Kind == rewrite.SettingDiscardAll {
			return true
		}
	}
	return false
}

// confirmPrepare runs on the server loop at a statement's CommandComplete.
func (ss *Session) confirmPrepare(se *stmtExec, tag string) {
	if tag != "PREPARE" || se.st.PrepareName == "" {
		return
	}
	ss.mu.Lock()
	ss.mu.names.confirm(se.st.PrepareName, se.prepSeq)
	ss.mu.Unlock()
}

// Large-object functions, the only FunctionCall (fastpath) targets allowed with encrypted
// columns configured: a FunctionCall runs any function with arguments pgseal cannot analyse
// (set_config among them), while libpq's and JDBC's large-object APIs need these. OIDs are
// fixed in pg_proc.dat (checked against the server by a test).
var loFunctions = map[uint32]bool{
	715: true, 952: true, 953: true, 954: true, 955: true, 956: true, 957: true, 958: true,
	964: true, 1004: true, 3170: true, 3171: true, 3172: true, 3457: true, 3458: true,
	3459: true, 3460: true,
}

// functionCall refuses a FunctionCall of anything but a large-object function (0A000); the
// session stays usable (ErrorResponse, then ReadyForQuery, as for a failed call).
func (ss *Session) functionCall(m *pgproto3.FunctionCall) wire.Verdict {
	ss.mu.Lock()
	ss.mu.syncs++
	ss.mu.Unlock()
	if loFunctions[m.Function] {
		return wire.Verdict{}
	}
	return wire.Verdict{Refuse: &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
		Message: fmt.Sprintf("function call (fastpath) of function OID %d is not supported through pgseal; only large-object functions are", m.Function)}}
}
