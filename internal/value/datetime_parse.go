package value

import (
	"strconv"
	"strings"
	"time"
)

// dtSpecial is a special input word ('infinity', 'now', ...).
type dtSpecial uint8

const (
	dtNone dtSpecial = iota
	dtPosInf
	dtNegInf
	dtEpoch
	dtNow
	dtToday
	dtTomorrow
	dtYesterday
)

var specialWords = map[string]dtSpecial{
	"infinity": dtPosInf, "+infinity": dtPosInf, "-infinity": dtNegInf,
	"epoch": dtEpoch, "now": dtNow, "today": dtToday, "tomorrow": dtTomorrow, "yesterday": dtYesterday,
}

// dtFields is a parsed date/time literal before it becomes a date or timestamp.
type dtFields struct {
	special           dtSpecial
	year, month, day  int // astronomical year once validated
	hour, minute, sec int
	fsec              int64 // microseconds
	hasDate, hasTime  bool
	bc, twoDigitYear  bool
	hasZone           bool
	zoneOff           int            // seconds east of UTC, when zoneLoc is nil
	zoneLoc           *time.Location // a named zone
}

// parseDateTime parses the subset of PostgreSQL's date/time input (ParseDateTime and
// DecodeDateTime) that applications send in practice:
//
//	special words: infinity, -infinity, epoch, now, today, tomorrow, yesterday
//	date: Y-M-D with a year of 3+ digits, or 3 numeric fields split by - / . in DateStyle order,
//	      or YYYYMMDD; an optional BC/AD
//	time: H:M[:S[.frac]] after a space or 'T'
//	zone: Z, +HH, +HHMM, +HH:MM[:SS], or a zone name (UTC, GMT, IANA names such as Asia/Kolkata)
//
// Month names, Julian days, ISO week dates and zone abbreviations other than IANA file names are
// rejected (invalid input syntax) rather than guessed.
func parseDateTime(t Type, in []byte, order DateOrder) (dtFields, error) {
	var f dtFields
	s := string(trimSpace(in))
	if sp, ok := specialWords[strings.ToLower(s)]; ok {
		f.special = sp
		return f, nil
	}
	for _, tok := range splitDateTime(s) {
		if err := f.addToken(t, tok, order); err != nil {
			return f, err
		}
	}
	if !f.hasDate {
		return f, datetimeSyntaxError(t)
	}
	return f, f.validate()
}

// splitDateTime splits on whitespace and on the ISO 8601 'T' between a date and a time, and
// separates a zone glued to a time ("12:00:00+05", "12:00Z").
func splitDateTime(s string) []string {
	var out []string
	for _, tok := range strings.Fields(s) {
		if i := strings.IndexAny(tok, "Tt"); i > 0 && isDigit(tok[i-1]) && i+1 < len(tok) && isDigit(tok[i+1]) {
			out = append(out, tok[:i])
			tok = tok[i+1:]
		}
		if strings.IndexByte(tok, ':') > 0 && isDigit(tok[0]) {
			if i := strings.IndexAny(tok, "+-Zz"); i > 0 {
				out = append(out, tok[:i], tok[i:])
				continue
			}
		}
		out = append(out, tok)
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func (f *dtFields) addToken(t Type, tok string, order DateOrder) error {
	low := strings.ToLower(tok)
	switch {
	case low == "bc" || low == "ad":
		f.bc = low == "bc"
		return nil
	case isDigit(tok[0]) && strings.IndexByte(tok, ':') > 0 && !f.hasTime && f.hasDate:
		return f.parseTime(t, tok)
	case isDigit(tok[0]) && !f.hasDate:
		return f.parseDate(t, tok, order)
	case (tok[0] == '+' || tok[0] == '-' || low == "z") && f.hasDate && !f.hasZone:
		return f.parseOffset(t, tok)
	case f.hasDate && !f.hasZone && isZoneName(tok):
		loc, err := time.LoadLocation(canonicalZoneName(tok))
		if err != nil || tok == "Local" {
			return &Error{Code: CodeInvalidParameterValue, Message: "time zone not recognized"}
		}
		f.hasZone, f.zoneLoc = true, loc
		return nil
	}
	return datetimeSyntaxError(t)
}

func isZoneName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '_' || isDigit(c) && i > 0 || c == '-' && i > 0 || c == '+' && i > 0) {
			return false
		}
	}
	return true
}

// canonicalZoneName maps the case-insensitive spellings PostgreSQL accepts for the common UTC
// names onto zoneinfo file names.
func canonicalZoneName(s string) string {
	switch strings.ToLower(s) {
	case "utc", "z", "zulu":
		return "UTC"
	case "gmt":
		return "GMT"
	}
	return s
}

func (f *dtFields) parseDate(t Type, tok string, order DateOrder) error {
	f.hasDate = true
	if allDigits(tok) && len(tok) == 8 { // YYYYMMDD
		f.year, _ = strconv.Atoi(tok[:4])
		f.month, _ = strconv.Atoi(tok[4:6])
		f.day, _ = strconv.Atoi(tok[6:])
		return nil
	}
	sep := strings.IndexAny(tok, "-/.")
	if sep <= 0 {
		return datetimeSyntaxError(t)
	}
	parts := strings.Split(tok, tok[sep:sep+1])
	if len(parts) != 3 || !allDigits(parts[0]) || !allDigits(parts[1]) || !allDigits(parts[2]) {
		return datetimeSyntaxError(t)
	}
	var y, m, d string
	switch {
	case len(parts[0]) >= 3 || order == YMD:
		y, m, d = parts[0], parts[1], parts[2]
	case order == DMY:
		d, m, y = parts[0], parts[1], parts[2]
	default:
		m, d, y = parts[0], parts[1], parts[2]
	}
	if len(m) > 2 || len(d) > 2 || len(y) > 9 {
		return fieldOverflowError()
	}
	f.year, _ = strconv.Atoi(y)
	f.month, _ = strconv.Atoi(m)
	f.day, _ = strconv.Atoi(d)
	f.twoDigitYear = len(y) <= 2
	return nil
}

// parseTime reads H:M[:S[.frac]]. The fraction is rounded to microseconds the way PostgreSQL
// does it (strtod, then rint of frac*1e6), so that half-way cases agree.
func (f *dtFields) parseTime(t Type, tok string) error {
	f.hasTime = true
	frac := ""
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		tok, frac = tok[:i], tok[i:]
		if !allDigits(frac[1:]) && frac != "." {
			return datetimeSyntaxError(t)
		}
	}
	parts := strings.Split(tok, ":")
	if len(parts) < 2 || len(parts) > 3 || (frac != "" && len(parts) != 3) {
		return datetimeSyntaxError(t)
	}
	vals := [3]int{}
	for i, p := range parts {
		if !allDigits(p) || len(p) > 2 {
			return datetimeSyntaxError(t)
		}
		vals[i], _ = strconv.Atoi(p)
	}
	f.hour, f.minute, f.sec = vals[0], vals[1], vals[2]
	if len(frac) > 1 {
		v, err := strconv.ParseFloat("0"+frac, 64)
		if err != nil {
			return datetimeSyntaxError(t)
		}
		f.fsec = int64(roundHalfEven(v * 1e6))
	}
	return nil
}

func roundHalfEven(v float64) float64 {
	r := float64(int64(v))
	if d := v - r; d > 0.5 || d == 0.5 && int64(r)%2 == 1 {
		r++
	}
	return r
}

// parseOffset reads Z, +HH, +HHMM, +HH:MM or +HH:MM:SS (ISO sign: east is positive).
func (f *dtFields) parseOffset(t Type, tok string) error {
	f.hasZone = true
	if strings.EqualFold(tok, "z") {
		return nil
	}
	sign := 1
	if tok[0] == '-' {
		sign = -1
	}
	body := tok[1:]
	var h, m, s int
	switch parts := strings.Split(body, ":"); {
	case len(parts) == 1 && allDigits(body) && len(body) <= 2:
		h, _ = strconv.Atoi(body)
	case len(parts) == 1 && allDigits(body) && len(body) == 4:
		h, _ = strconv.Atoi(body[:2])
		m, _ = strconv.Atoi(body[2:])
	case len(parts) <= 3 && allDigits(strings.Join(parts, "")) && len(parts[0]) <= 2:
		h, _ = strconv.Atoi(parts[0])
		for i, p := range parts[1:] {
			if len(p) != 2 {
				return datetimeSyntaxError(t)
			}
			v, _ := strconv.Atoi(p)
			if i == 0 {
				m = v
			} else {
				s = v
			}
		}
	default:
		return datetimeSyntaxError(t)
	}
	// PostgreSQL allows offsets up to 15:59:59 (TZDISP_LIMIT).
	if h > 15 || m > 59 || s > 59 {
		return &Error{Code: CodeInvalidTimeZoneDisplacement, Message: "time zone displacement out of range"}
	}
	f.zoneOff = sign * (h*3600 + m*60 + s)
	return nil
}

// validate mirrors ValidateDate and the field checks of DecodeDateTime.
func (f *dtFields) validate() error {
	switch {
	case f.bc:
		if f.year <= 0 {
			return fieldOverflowError()
		}
		f.year = -(f.year - 1) // 1 BC is year 0
	case f.twoDigitYear:
		if f.year < 70 {
			f.year += 2000
		} else {
			f.year += 1900
		}
	case f.year <= 0:
		return fieldOverflowError()
	}
	if f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysInMonth(f.year, f.month) {
		return fieldOverflowError()
	}
	if f.hour > 24 || f.minute > 59 || f.sec > 60 ||
		f.hour == 24 && (f.minute > 0 || f.sec > 0 || f.fsec > 0) {
		return fieldOverflowError()
	}
	return nil
}
