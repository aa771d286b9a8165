package sqlstate

// The SQLSTATE codes pgseal reports or recognises, in one place. Names follow PostgreSQL's
// errcodes.txt (and jackc/pgerrcode) in Go spelling; a client sees the code PostgreSQL would have
// sent for the same failure. Grouped by class.
const (
	// Class 08: connection exception.
	UnableToConnect   = "08001" // upstream unreachable at startup
	ConnectionFailure = "08006" // upstream went away
	ProtocolViolation = "08P01" // malformed or oversized message, unknown protocol

	// Class 0A: feature not supported.
	FeatureNotSupported = "0A000" // statement refused: pgseal cannot do it correctly

	// Class 22: data exception.
	StringDataRightTruncation   = "22001" // value too long for type character varying(n)
	NumericValueOutOfRange      = "22003" // value out of range for type ...
	InvalidDatetimeFormat       = "22007" // invalid input syntax for a date/time type
	DatetimeFieldOverflow       = "22008" // date/time field value out of range
	InvalidTimeZoneDisplacement = "22009" // time zone displacement out of range
	CharacterNotInRepertoire    = "22021" // invalid byte sequence for encoding "UTF8"
	InvalidEscapeSequence       = "22025" // LIKE pattern must not end with escape character
	InvalidParameterValue       = "22023" // invalid session setting, format code or COPY option
	InvalidTextRepresentation   = "22P02" // invalid input syntax for type ...
	InvalidBinaryRepresentation = "22P03" // incorrect binary data format
	BadCopyFileFormat           = "22P04" // malformed COPY data
	UntranslatableCharacter     = "22P05" // unsupported Unicode escape sequence (jsonb \u0000)

	// Class 23: integrity constraint violation.
	CheckViolation = "23514" // a CHECK constraint (e.g. pgseal's envelope check) rejected a row

	// Class 25 and 26: invalid transaction state, invalid SQL statement name.
	InFailedSQLTransaction  = "25P02" // server ignored the statement: transaction already aborted
	InvalidSQLStatementName = "26000" // Bind of a statement the session does not know

	// Class 28: invalid authorization specification.
	InvalidAuthorization = "28000" // auth method pgseal cannot relay

	// Class 3F: invalid schema name.
	InvalidSchemaName = "3F000" // schema does not exist

	// Class 40: transaction rollback.
	SerializationFailure = "40001"
	DeadlockDetected     = "40P01"

	// Class 42: syntax error or access rule violation.
	InsufficientPrivilege = "42501" // no keyset / no grant
	SyntaxError           = "42601"
	UndefinedTable        = "42P01"
	UndefinedObject       = "42704" // unknown type name
	DatatypeMismatch      = "42804" // client declared another type for an encrypted parameter
	UndefinedFunction     = "42883" // no operator for the operand types (text = integer)

	// Class 53 and 54: insufficient resources, program limit exceeded.
	TooManyConnections   = "53300" // max_connections reached
	ProgramLimitExceeded = "54000" // e.g. a COPY row over the size cap
	StatementTooComplex  = "54001" // stack depth limit exceeded

	// Class 55: object not in prerequisite state.
	LockNotAvailable = "55P03"
	// ObjectNotInPrerequisiteState: a keyset rotating its index keys refuses statements that use
	// search terms until the rotation is done.
	ObjectNotInPrerequisiteState = "55000"

	// Class 57: operator intervention.
	AdminShutdown = "57P01" // graceful shutdown deadline passed

	// Class XX: internal error.
	InternalError = "XX000"
	DataCorrupted = "XX001" // envelope malformed, authentication failed, or plaintext not of its type
)

// Severities as sent in an ErrorResponse's S and V fields.
const (
	SeverityError = "ERROR"
	SeverityFatal = "FATAL"
)
