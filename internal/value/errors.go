package value

// SQLSTATE codes this package reports. They mirror PostgreSQL's for the same failures, so a client
// sees what it would have seen without the proxy.
const (
	CodeInvalidTextRepresentation   = "22P02" // invalid input syntax for type ...
	CodeNumericValueOutOfRange      = "22003" // value out of range for type ...
	CodeInvalidDatetimeFormat       = "22007" // invalid input syntax for a date/time type
	CodeDatetimeFieldOverflow       = "22008" // date/time field value out of range
	CodeInvalidBinaryRepresentation = "22P03" // incorrect binary data format
	CodeCharacterNotInRepertoire    = "22021" // invalid byte sequence for encoding "UTF8"
	CodeUntranslatableCharacter     = "22P05" // unsupported Unicode escape sequence (jsonb \u0000)
	CodeInvalidParameterValue       = "22023" // invalid session setting or format code
	CodeFeatureNotSupported         = "0A000" // e.g. output DateStyle other than ISO
	CodeDataCorrupted               = "XX001" // plaintext does not match its type
	CodeUndefinedObject             = "42704" // unknown type name
)

// Error is a value conversion failure with the SQLSTATE PostgreSQL would report for the same
// input. Message never contains the value itself: values of encrypted columns are secret.
type Error struct {
	Code    string // SQLSTATE
	Message string // one line, like PostgreSQL's message but without the value
}

func (e *Error) Error() string { return e.Message }

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
