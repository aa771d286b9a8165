package wire

import (
	"errors"

	// Named so: the package's tests have a sqlstate helper.
	pgstate "github.com/pgseal/pgseal/internal/sqlstate"
)

// SQLSTATEs pgseal itself reports: the wire names of internal/sqlstate's constants.
const (
	CodeProtocolViolation      = pgstate.ProtocolViolation
	CodeConnectionFailure      = pgstate.ConnectionFailure
	CodeUnableToConnect        = pgstate.UnableToConnect
	CodeTooManyConnections     = pgstate.TooManyConnections
	CodeAdminShutdown          = pgstate.AdminShutdown
	CodeInvalidAuthorization   = pgstate.InvalidAuthorization
	CodeFeatureNotSupported    = pgstate.FeatureNotSupported
	CodeInsufficientPrivilege  = pgstate.InsufficientPrivilege
	CodeInFailedSQLTransaction = pgstate.InFailedSQLTransaction
	CodeInternalError          = pgstate.InternalError
)

// Severities as sent in the S and V fields.
const (
	SeverityError = pgstate.SeverityError
	SeverityFatal = pgstate.SeverityFatal
)

// ProxyError is every failure pgseal reports to a client itself: sqlstate.Error, the one error
// type rewrite and value fail with too. Its ErrorResponse method is the one place it becomes a
// wire message.
type ProxyError = pgstate.Error

// fatal is a connection-level ProxyError: sent, then the connection is closed.
func fatal(code, format string, args ...any) *ProxyError {
	return pgstate.Fatal(code, format, args...)
}

// asProxyError finds the ProxyError in err's chain, if any.
func asProxyError(err error) (*ProxyError, bool) { return pgstate.As(err) }

// Sentinels for ends of a session that are not failures; used to pick the log reason.
var (
	errClientTerminated = errors.New("client sent Terminate")
	errShutdown         = errors.New("server shutting down")
)
