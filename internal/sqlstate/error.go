package sqlstate

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Error is every failure pgseal reports with a SQLSTATE: a statement refused by the analyser
// (rewrite), a value that does not convert (value), and whatever the proxy sends a client itself
// (wire, where it is known as ProxyError). Its text never holds values, SQL or keys: only what the
// client needs to know and can act on.
type Error struct {
	Severity string // SeverityError or SeverityFatal; empty is sent as SeverityError
	Code     string // SQLSTATE, one of this package's constants
	Message  string
	Detail   string
	Hint     string
	// Position is the 1-based character position in the statement text an ErrorResponse points
	// at (its P field); 0 = none.
	Position int32
	// Offset is the 0-based byte offset into the analysed SQL where an analyser refusal points,
	// -1 = none. Only rewrite sets it; Locate turns it into Position.
	Offset int
}

// Error implements error. With a Severity it reads as psql prints a server error
// ("FATAL: message (SQLSTATE 57P01)"); without one it is the message alone, so wrapping errors
// ("encrypt public.t.c: type \"x\": unsupported column type …") read as they always have.
func (e *Error) Error() string {
	if e.Severity == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s (SQLSTATE %s)", e.Severity, e.Message, e.Code)
}

// New returns an Error of code with a formatted message and no severity (sent as ERROR).
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Fatal is a connection-level Error: sent, then the connection is closed.
func Fatal(code, format string, args ...any) *Error {
	return &Error{Severity: SeverityFatal, Code: code, Message: fmt.Sprintf(format, args...)}
}

// As finds the Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Locate returns a copy of e whose Position points where Offset does in sql (1-based characters,
// as in PostgreSQL's ErrorResponse); an Offset outside sql leaves Position unset.
func (e *Error) Locate(sql string) *Error {
	out := *e
	if e.Offset >= 0 && e.Offset <= len(sql) {
		out.Position = int32(utf8.RuneCountInString(sql[:e.Offset]) + 1)
	}
	return &out
}

// ErrorResponse is the one place an Error becomes a wire message. Severity is sent both
// localized (S) and unlocalized (V), as PostgreSQL 9.6+ does.
func (e *Error) ErrorResponse() *pgproto3.ErrorResponse {
	sev := e.Severity
	if sev == "" {
		sev = SeverityError
	}
	return &pgproto3.ErrorResponse{
		Severity:            sev,
		SeverityUnlocalized: sev,
		Code:                e.Code,
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
		Position:            e.Position,
	}
}

// IsServer reports whether err's chain holds an error from the PostgreSQL server (a
// *pgconn.PgError) with one of codes.
func IsServer(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}
