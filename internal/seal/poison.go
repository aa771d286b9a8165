package seal

import (
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/wire"
)

// When pgseal replaces a result with an error in the middle (a row of another keyset, a tampered
// value, a schema change), PostgreSQL itself saw no error: the statement ran. Inside an explicit
// transaction block the client must nevertheless find the block failed, as it would be after a
// real error, and a COMMIT must not commit. So the ReadyForQuery that ends such a response reports
// 'E', and the session is "poisoned": the next statement other than ROLLBACK is refused with
// 25P02, which (through the refusal mechanism) makes the server fail the block for real. From then
// on the server's own state is PostgreSQL's: 25P02 for everything, COMMIT answered by ROLLBACK.
//
// Outside a block the server has already committed the implicit transaction; nothing can undo
// that (documented in doc.go).

// readyForQuery (server loop) advances tenancy and, after a mid-result failure inside a block,
// reports the block failed.
func (ss *Session) readyForQuery(m *pgproto3.ReadyForQuery) pgproto3.BackendMessage {
	status := m.TxStatus
	mid := ss.server.midFail
	ss.server.midFail = false
	if mid && status == 'T' {
		status = 'E'
		ss.mu.Lock()
		ss.mu.poisoned = true
		ss.poison.Store(true)
		ss.mu.Unlock()
	}
	ss.ready(status)
	if status != m.TxStatus {
		return &pgproto3.ReadyForQuery{TxStatus: status}
	}
	return m
}

// poisoned (client loop) refuses what a failed block refuses, until ROLLBACK or a refusal did it.
func (ss *Session) poisoned(msg pgproto3.FrontendMessage) (wire.Verdict, bool) {
	if !ss.poison.Load() { // set before the ReadyForQuery that reports the block failed is sent
		return wire.Verdict{}, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.mu.poisoned {
		return wire.Verdict{}, false
	}
	var sql string
	switch m := msg.(type) {
	case *pgproto3.Query:
		sql = m.String
	case *pgproto3.Parse:
		sql = m.Query
	case *pgproto3.Bind:
	default:
		return wire.Verdict{}, false
	}
	ss.mu.poisoned = false
	ss.poison.Store(false)
	if firstWordIn(sql, "rollback", "abort") {
		return wire.Verdict{}, false
	}
	if _, ok := msg.(*pgproto3.Query); ok {
		ss.mu.syncs++
		if firstWordIn(sql, "commit", "end") && !strings.Contains(sql, ";") {
			// A failed block answers COMMIT with a rollback and the tag ROLLBACK.
			return wire.Verdict{Replace: &pgproto3.Query{String: "ROLLBACK"}}, true
		}
	} else {
		ss.mu.extended++
	}
	return wire.Verdict{Refuse: &sqlstate.Error{Code: sqlstate.InFailedSQLTransaction,
		Message: "current transaction is aborted, commands ignored until end of transaction block"}}, true
}

// firstWordIn reports whether the statement's first word is one of words (lower case): ROLLBACK
// and ABORT (also ROLLBACK TO SAVEPOINT) are what a failed block accepts.
func firstWordIn(sql string, words ...string) bool {
	f := strings.Fields(strings.ToLower(sql))
	if len(f) == 0 {
		return false
	}
	w := strings.TrimSuffix(f[0], ";")
	for _, x := range words {
		if w == x {
			return true
		}
	}
	return false
}
