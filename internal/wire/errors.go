package wire

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SQLSTATEs pgseal itself reports. Names follow PostgreSQL's errcodes.txt (and jackc/pgerrcode).
const (
	CodeProtocolViolation      = "08P01" // malformed or oversized message, unknown protocol
	CodeConnectionFailure      = "08006" // upstream went away
	CodeUnableToConnect        = "08001" // upstream unreachable at startup
	CodeTooManyConnections     = "53300" // max_connections reached
	CodeAdminShutdown          = "57P01" // graceful shutdown deadline passed
	CodeInvalidAuthorization   = "28000" // auth method pgseal cannot relay
	CodeFeatureNotSupported    = "0A000" // statement refused: pgseal cannot do it correctly
	CodeInsufficientPrivilege  = "42501" // no keyset / no grant (later work)
	CodeInFailedSQLTransaction = "25P02" // server ignored the statement: transaction already aborted
	CodeInternalError          = "XX000"
)

// Severities as sent in the S and V fields.
const (
	SeverityError = "ERROR"
	SeverityFatal = "FATAL"
)

// ProxyError is every failure pgseal reports to a client itself. Its text never holds values, SQL
// or keys: only what the client needs to know and can act on.
type ProxyError struct {
	Severity string // SeverityError or SeverityFatal
	Code     string // SQLSTATE
	Message  string
	Detail   string
	Hint     string
	Position int32 // 1-based character position in the statement text, 0 = none
}

// Error implements error with the same text psql would print.
func (e *ProxyError) Error() string {
	return fmt.Sprintf("%s: %s (SQLSTATE %s)", e.Severity, e.Message, e.Code)
}

// fatal is a connection-level ProxyError: sent, then the connection is closed.
func fatal(code, format string, args ...any) *ProxyError {
	return &ProxyError{Severity: SeverityFatal, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorResponse is the one place a ProxyError becomes a wire message. Severity is sent both
// localized (S) and unlocalized (V), as PostgreSQL 9.6+ does.
func (e *ProxyError) ErrorResponse() *pgproto3.ErrorResponse {
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

// asProxyError finds the ProxyError in err's chain, if any.
func asProxyError(err error) (*ProxyError, bool) {
	var pe *ProxyError
	ok := errors.As(err, &pe)
	return pe, ok
}

// Sentinels for ends of a session that are not failures; used to pick the log reason.
var (
	errClientTerminated = errors.New("client sent Terminate")
	errShutdown         = errors.New("server shutting down")
)
