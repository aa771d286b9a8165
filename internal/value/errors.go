package value

import "github.com/pgseal/pgseal/internal/sqlstate"

// SQLSTATE codes this package reports (names kept for callers; the codes live in internal/sqlstate).
// They mirror PostgreSQL's for the same failures, so a client sees what it would have seen without
// the proxy.
const (
	CodeInvalidTextRepresentation   = sqlstate.InvalidTextRepresentation
	CodeNumericValueOutOfRange      = sqlstate.NumericValueOutOfRange
	CodeStringDataRightTruncation   = sqlstate.StringDataRightTruncation
	CodeInvalidDatetimeFormat       = sqlstate.InvalidDatetimeFormat
	CodeDatetimeFieldOverflow       = sqlstate.DatetimeFieldOverflow
	CodeInvalidBinaryRepresentation = sqlstate.InvalidBinaryRepresentation
	CodeCharacterNotInRepertoire    = sqlstate.CharacterNotInRepertoire
	CodeUntranslatableCharacter     = sqlstate.UntranslatableCharacter
	CodeInvalidParameterValue       = sqlstate.InvalidParameterValue
	CodeFeatureNotSupported         = sqlstate.FeatureNotSupported
	CodeDataCorrupted               = sqlstate.DataCorrupted
	CodeUndefinedObject             = sqlstate.UndefinedObject
	CodeInvalidTimeZoneDisplacement = sqlstate.InvalidTimeZoneDisplacement
	CodeStatementTooComplex         = sqlstate.StatementTooComplex // jsonb nested too deeply
)

// Error is a value conversion failure with the SQLSTATE PostgreSQL would report for the same
// input: sqlstate.Error with only Code and Message set, so Error() is the message alone. Message
// never contains the value itself: values of encrypted columns are secret.
type Error = sqlstate.Error

func syntaxError(t Type) error {
	return &Error{Code: CodeInvalidTextRepresentation, Message: "invalid input syntax for type " + t.sqlName()}
}

func rangeError(t Type) error {
	return &Error{Code: CodeNumericValueOutOfRange, Message: "value out of range for type " + t.sqlName()}
}

func binaryError(t Type) error {
	return &Error{Code: CodeInvalidBinaryRepresentation, Message: "incorrect binary data format for type " + t.sqlName()}
}

func datetimeSyntaxError(t Type) error {
	return &Error{Code: CodeInvalidDatetimeFormat, Message: "invalid input syntax for type " + t.sqlName()}
}

func fieldOverflowError() error {
	return &Error{Code: CodeDatetimeFieldOverflow, Message: "date/time field value out of range"}
}

func outOfRangeDatetime(t Type) error {
	n := "timestamp"
	if t == Date {
		n = "date"
	}
	return &Error{Code: CodeDatetimeFieldOverflow, Message: n + " out of range"}
}

func encodingError() error {
	return &Error{Code: CodeCharacterNotInRepertoire, Message: `invalid byte sequence for encoding "UTF8"`}
}

func corrupt(t Type) error {
	return &Error{Code: CodeDataCorrupted, Message: "decrypted value is not a valid " + t.String()}
}
