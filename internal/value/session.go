package value

import (
	"strconv"
	"strings"
	"time"
)

// DateOrder is the field order DateStyle gives ambiguous numeric dates such as 01/02/03.
type DateOrder uint8

// Date orders, as in the second half of PostgreSQL's DateStyle.
const (
	MDY DateOrder = iota // PostgreSQL's default
	DMY
	YMD
)

// Session holds the session settings that change how values are read and written as text. The
// zero value is PostgreSQL's default: TimeZone UTC, DateStyle "ISO, MDY", bytea_output hex,
// extra_float_digits 1. The proxy keeps it current from ParameterStatus messages via Set.
//
// A Session is not safe for concurrent mutation; each client session owns one.
type Session struct {
	// TimeZone is the session time zone; nil means UTC.
	TimeZone *time.Location
	// tzInvalid is set when the server reported a TimeZone this package cannot reproduce; then
	// timestamptz conversion fails closed instead of silently using the wrong zone.
	tzInvalid bool
	// nonISO is set when DateStyle's output style is not ISO (Postgres, SQL, German).
	nonISO bool
	// Order is the DateStyle field order for ambiguous input dates.
	Order DateOrder
	// ByteaEscape is true when bytea_output is "escape" instead of the default "hex".
	ByteaEscape bool
	// efd stores extra_float_digits minus 1, so that the zero value means PostgreSQL's default 1.
	efd int8
	// enc is what a character is in the database encoding (server_encoding), for varchar(n).
	enc dbEncoding
}

// dbEncoding is how the database encoding counts characters of UTF-8 text from the client.
type dbEncoding uint8

const (
	encUnknown dbEncoding = iota // not reported: length limits fail closed
	encBytes                     // SQL_ASCII: every byte is a character
	encChars                     // any real encoding: a character is a character (a UTF-8 rune)
)

// ExtraFloatDigits returns the session's extra_float_digits (PostgreSQL's default is 1).
func (s *Session) ExtraFloatDigits() int {
	if s == nil {
		return 1
	}
	return int(s.efd) + 1
}

// Set applies a setting the server reported (ParameterStatus) or that a SET changed. Names are
// case-insensitive; unknown names are ignored. A value this package cannot honour makes the
// affected conversions fail (fail closed) rather than produce output that differs from PG's.
func (s *Session) Set(name, value string) {
	switch strings.ToLower(name) {
	case "timezone":
		loc, ok := parseTimeZone(value)
		s.TimeZone, s.tzInvalid = loc, !ok
	case "datestyle":
		s.setDateStyle(value)
	case "server_encoding":
		s.enc = encChars
		if strings.EqualFold(strings.TrimSpace(value), "SQL_ASCII") {
			s.enc = encBytes
		}
	case "bytea_output":
		s.ByteaEscape = strings.EqualFold(strings.TrimSpace(value), "escape")
	case "extra_float_digits":
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err == nil && n >= -15 && n <= 3 {
			s.efd = int8(n - 1)
		}
	}
}

// setDateStyle parses a DateStyle such as "ISO, MDY" or "Postgres, DMY". ParameterStatus always
// reports both parts.
func (s *Session) setDateStyle(v string) {
	for _, part := range strings.Split(v, ",") {
		switch strings.ToUpper(strings.TrimSpace(part)) {
		case "ISO":
			s.nonISO = false
		case "POSTGRES", "SQL", "GERMAN":
			s.nonISO = true
		case "MDY", "US", "NONEURO", "NONEUROPEAN":
			s.Order = MDY
		case "DMY", "EURO", "EUROPEAN":
			s.Order = DMY
		case "YMD":
			s.Order = YMD
		}
	}
}

func (s *Session) location() (*time.Location, error) {
	if s == nil || s.TimeZone == nil && !s.tzInvalid {
		return time.UTC, nil
	}
	if s.tzInvalid {
		return nil, &Error{Code: CodeFeatureNotSupported, Message: "session TimeZone is not supported for encrypted columns"}
	}
	return s.TimeZone, nil
}

func (s *Session) encoding() dbEncoding {
	if s == nil {
		return encUnknown
	}
	return s.enc
}

func (s *Session) order() DateOrder {
	if s == nil {
		return MDY
	}
	return s.Order
}

// parseTimeZone resolves a TimeZone setting: an IANA name (what the server reports for named
// zones) or a POSIX fixed offset such as "<+05>-05" or "+05:30", which is what PostgreSQL reports
// after SET TIME ZONE INTERVAL or a numeric zone. POSIX offsets count hours WEST of Greenwich.
func parseTimeZone(v string) (*time.Location, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, false
	}
	if loc, err := time.LoadLocation(v); err == nil && v != "Local" {
		return loc, true
	}
	rest := v
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return nil, false
		}
		rest = rest[end+1:]
	} else {
		rest = strings.TrimLeft(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	}
	west, ok := parsePosixOffset(rest)
	if !ok {
		return nil, false // DST rules and other forms: not reproduced, fail closed
	}
	return time.FixedZone(v, -west), true
}

// parsePosixOffset parses [+-]hh[:mm[:ss]] into seconds.
func parsePosixOffset(s string) (int, bool) {
	sign := 1
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 || s == "" {
		return 0, false
	}
	total := 0
	mult := 3600
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) > 3 || (mult != 3600 && n > 59) {
			return 0, false
		}
		total += n * mult
		mult /= 60
	}
	return sign * total, true
}
