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
// Operators read the server's log, so each stand-in makes it say what happened, with a fixed
// text (refusedText: "pgseal refused a statement (SQLSTATE xxxxx)", no value of the client's):
//
//   - Query -> a DO block that raises it (ERROR: pgseal refused a statement …). A simple Query
//     fails with ErrorResponse and ReadyForQuery wherever the error arises in it.
//   - Parse -> a Parse of the same name whose parse analysis fails: the text cast to
//     pg_catalog.int4 (ERROR: invalid input syntax for type integer: "pgseal refused …"). A DO
//     would fail only at Execute, a later protocol point.
//   - Bind  -> a Bind naming the statement "pgseal refused a statement (SQLSTATE xxxxx)", which
//     does not exist (ERROR: prepared statement "pgseal refused …" does not exist): the statement
//     lookup is the first thing Bind does. Parse of a name starting with refusedStatement is
//     refused, so a client cannot create it through pgseal's Parse (a SQL PREPARE of such a name
//     is not checked: a known limit).
//   - FunctionCall -> the Query's DO block (tracked as the FunctionCall).
//
// Nothing in them depends on the session's search_path or settings: the DO block calls nothing,
// the cast names its type with its schema, and no literal has a backslash. Inside a transaction
// that already failed, the Query and Parse stand-ins get 25P02, as the refused statement would
// have: that error is passed through (PostgreSQL would have ignored the statement too). The Bind
// stand-in still fails at the lookup, before PostgreSQL's 25P02 check, and is swapped as before.
const refusedStatement = "pgseal refused a statement"

// refusedText is the stand-ins' text for a refusal with code: refusedStatement and the SQLSTATE
// (pgseal's own constants; anything else is shown as XX000). It is at most 43 bytes, under
// PostgreSQL's 63-byte identifier limit (the Bind stand-in uses it as a statement name).
func refusedText(code string) string {
	if !validSQLState(code) {
		code = CodeInternalError
	}
	return refusedStatement + " (SQLSTATE " + code + ")"
}

// validSQLState reports whether code is five digits or upper-case ASCII letters.
func validSQLState(code string) bool {
	if len(code) != 5 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// refusedQuery is the Query stand-in: a DO block raising text.
func refusedQuery(text string) *pgproto3.Query {
	return &pgproto3.Query{String: "DO $pgseal$BEGIN RAISE EXCEPTION '" + text + "'; END$pgseal$"}
}

// refusedParse is the Parse stand-in: a constant that fails its cast while the Parse is
// analysed, so the server fails the Parse itself (a DO block would only fail at Execute).
func refusedParse(name, text string) *pgproto3.Parse {
	return &pgproto3.Parse{Name: name, Query: "SELECT '" + text + "'::pg_catalog.int4"}
}

// refuse sends the replacement for a refused client message and records the refusal on the FIFO.
func (s *session) refuse(typ byte, names [2]string, v Verdict) error {
	pe := *v.Refuse
	pe.Severity = SeverityError
	text := refusedText(pe.Code)
	var repl encoder
	switch typ {
	case 'Q':
		repl = refusedQuery(text)
	case 'P':
		repl = refusedParse(names[0], text)
	case 'B':
		repl = &pgproto3.Bind{DestinationPortal: names[0], PreparedStatement: text}
	case 'F':
		// A failed FunctionCall is answered by ErrorResponse and ReadyForQuery, as a Query is,
		// and fails the transaction block the same way.
		repl = refusedQuery(text)
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
