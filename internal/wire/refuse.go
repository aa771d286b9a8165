package wire

import (
	"github.com/jackc/pgx/v5/pgproto3"
)

// Refusing a statement without breaking the session.
//
// pgseal could answer a refused message itself, but then it would have to fake what PostgreSQL
// does next: abort the transaction (or not), skip the rest of an extended-protocol batch up to
// Sync, and keep the responses of a pipeline in order. Instead the refused message is replaced,
// towards the server, by one the server is certain to reject at the same protocol point, and the
// FIFO entry records that the error is ours. The server then does everything right by itself;
// the server loop only swaps the fields of that ErrorResponse for pgseal's.
//
//   - Query -> a Query that is a syntax error.
//   - Parse -> a Parse of the same name with SQL that is a syntax error.
//   - Bind  -> a Bind naming refusedStatement, which no client can create (its Parse is refused).
//   - FunctionCall -> a Query that is a syntax error (tracked as the FunctionCall).
//
// If the server reports 25P02 (the transaction was already aborted) instead, that error is passed
// through: PostgreSQL would have ignored the statement too.
const (
	refusedSQL       = "pgseal refused this statement"
	refusedStatement = "pgseal\x01refused"
)

// refuse sends the replacement for a refused client message and records the refusal on the FIFO.
func (s *session) refuse(typ byte, names [2]string, v Verdict) error {
	pe := *v.Refuse
	pe.Severity = SeverityError
	var repl encoder
	switch typ {
	case 'Q':
		repl = &pgproto3.Query{String: refusedSQL}
	case 'P':
		repl = &pgproto3.Parse{Name: names[0], Query: refusedSQL}
	case 'B':
		repl = &pgproto3.Bind{DestinationPortal: names[0], PreparedStatement: refusedStatement}
	case 'F':
		// A failed FunctionCall is answered by ErrorResponse and ReadyForQuery, as a Query is,
		// and fails the transaction block the same way.
		repl = &pgproto3.Query{String: refusedSQL}
	default:
		// Only these have a certain-to-fail stand-in; fail closed.
		return fatal(CodeInternalError, "internal error in pgseal: cannot refuse message type %q", typ)
	}
	if err := s.cr.skip(); err != nil {
		return s.clientReadErr(err)
	}
	s.trackRequest(typ, names, v.Plan, &pe)
	return s.toServerErr(s.sw.send(repl))
}
