package value

import (
	"fmt"
	"math"
)

// Convertible reports whether Convert turns a plaintext of type from into one of type to. These
// are the conversions whose result pgseal reproduces exactly: text and varchar into each other
// (same bytes in every format), integers into integers (PostgreSQL's int2/int4/int8 casts: the
// value, range-checked) and date, timestamp, timestamptz into each other (in the session's
// TimeZone, like PostgreSQL's casts). Casts that round (numeric to integer) are not here.
func Convertible(from, to Type) bool {
	if from == to {
		return from.Valid()
	}
	return textual(from) && textual(to) || integral(from) && integral(to) || datetime(from) && datetime(to)
}

// Convert appends the plaintext of type to that PostgreSQL's assignment (or explicit) cast makes
// of plain, a plaintext of the type in its tag: `'x'::varchar` stored into a text column, or
// `'5'::int8` into an int4 column. Narrowing an integer range-checks like PostgreSQL's int84,
// int82 and int42 (22003 "integer out of range"); date and time casts follow s's TimeZone. A pair
// Convertible refuses is a 0A000 error.
func Convert(dst []byte, to Type, plain []byte, s *Session) ([]byte, error) {
	if len(plain) == 0 || !Type(plain[0]).Valid() {
		return dst, &Error{Code: CodeDataCorrupted, Message: "plaintext has no valid type tag"}
	}
	from := Type(plain[0])
	_, body, err := canonical(from, plain)
	if err != nil {
		return dst, err
	}
	switch {
	case from == to || textual(from) && textual(to):
		// text and varchar share input, output and send functions: only the tag changes.
		return append(append(dst, byte(to)), body...), nil
	case integral(from) && integral(to):
		v := readInt(body)
		lo, hi := intRange(to)
		if v < lo || v > hi {
			return dst, &Error{Code: CodeNumericValueOutOfRange, Message: to.sqlName() + " out of range"}
		}
		return appendInt(append(dst, byte(to)), v, int(to.Size())), nil
	case datetime(from) && datetime(to):
		return convertDatetime(dst, from, to, body, s)
	}
	if out, ok, err := assign(dst, from, to, body); ok {
		return out, err
	}
	return dst, &Error{Code: CodeFeatureNotSupported, Message: "converting " + from.String() + " to " + to.String() + " is not supported for encrypted columns"}
}

// EncodeAs is Encode of a value written as type from (its cast) followed by Convert to type to:
// the input is parsed and checked as from, as PostgreSQL parses the cast's argument first.
func EncodeAs(dst []byte, to, from Type, format int16, wire []byte, s *Session) ([]byte, error) {
	if from == to {
		return Encode(dst, to, format, wire, s)
	}
	if !Assignable(from, to) {
		return dst, &Error{Code: CodeFeatureNotSupported, Message: "converting " + from.String() + " to " + to.String() + " is not supported for encrypted columns"}
	}
	plain, err := Encode(nil, from, format, wire, s)
	if err != nil {
		return dst, err
	}
	return Convert(dst, to, plain, s)
}

func textual(t Type) bool  { return t == Text || t == Varchar }
func integral(t Type) bool { return t == Int2 || t == Int4 || t == Int8 }

func intRange(t Type) (int64, int64) {
	switch t {
	case Int2:
		return math.MinInt16, math.MaxInt16
	case Int4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// FitChars applies a varchar(n) column's length to a text or varchar plaintext assigned to it,
// as PostgreSQL's varchar() does without isExplicit: a value of at most n characters of the
// database encoding is kept; a longer one is cut to n only when everything beyond them is spaces,
// else 22001.
func FitChars(plain []byte, n int, s *Session) ([]byte, error) {
	cut, err := TruncateChars(plain, n, s)
	if err != nil {
		return nil, err
	}
	for _, c := range plain[len(cut):] {
		if c != ' ' {
			return nil, &Error{Code: CodeStringDataRightTruncation, Message: fmt.Sprintf("value too long for type character varying(%d)", n)}
		}
	}
	return cut, nil
}

// TruncateChars applies an explicit cast to varchar(n) to a text or varchar plaintext, as
// PostgreSQL's varchar() does with isExplicit: a value longer than n characters of the database
// encoding is cut to its first n, whatever they are (an assignment to a varchar(n) column raises
// 22001 instead: FitChars). Without a known server_encoding it fails with 0A000.
func TruncateChars(plain []byte, n int, s *Session) ([]byte, error) {
	if len(plain) == 0 || !textual(Type(plain[0])) || n < 1 {
		return nil, &Error{Code: CodeFeatureNotSupported, Message: "a length limit applies only to text values"}
	}
	body := plain[1:]
	switch s.encoding() {
	case encBytes:
		if len(body) > n {
			body = body[:n]
		}
	case encChars:
		for i := range string(body) {
			if n == 0 {
				body = body[:i]
				break
			}
			n--
		}
	default:
		return nil, &Error{Code: CodeFeatureNotSupported, Message: "server_encoding is unknown: varchar(n) casts are not supported"}
	}
	return append([]byte{plain[0]}, body...), nil
}
