package value

import (
	"encoding/binary"
	"time"
)

// datetime reports the types convertDatetime converts among.
func datetime(t Type) bool { return t == Date || t == Timestamp || t == Timestamptz }

// convertDatetime mirrors PostgreSQL 15's casts among date, timestamp and timestamptz
// (date_timestamp, date_timestamptz, timestamp_date, timestamptz_date, timestamp_timestamptz,
// timestamptz_timestamp): infinities map to infinities; a local time becomes an instant with the
// session zone's offset chosen like DetermineTimeZoneOffset (determineOffset); an instant becomes
// a local time with the offset in force at that instant, as formatTimestamp shows it.
func convertDatetime(dst []byte, from, to Type, body []byte, s *Session) ([]byte, error) {
	if from == Date {
		// Checked before multiplying: the last dates overflow int64 microseconds.
		if d := int32(binary.BigEndian.Uint32(body)); d != datePosInf && int64(d) >= endTimestamp/usecsPerDay {
			return dst, &Error{Code: CodeDatetimeFieldOverflow, Message: "date out of range for timestamp"}
		}
	}
	v, inf := readDatetime(from, body)
	if inf == 0 {
		var err error
		if v, err = moveDatetime(from, to, v, s); err != nil {
			return dst, err
		}
	}
	dst = append(dst, byte(to))
	if to == Date {
		d := int32(floorDiv(v, usecsPerDay))
		switch inf {
		case -1:
			d = dateNegInf
		case 1:
			d = datePosInf
		}
		return binary.BigEndian.AppendUint32(dst, uint32(d)), nil
	}
	switch inf {
	case -1:
		v = tsNegInf
	case 1:
		v = tsPosInf
	}
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}

// readDatetime returns a value as microseconds (local for date and timestamp, UTC for
// timestamptz), or inf = ±1 for ±infinity.
func readDatetime(t Type, body []byte) (v int64, inf int) {
	if t == Date {
		switch d := int32(binary.BigEndian.Uint32(body)); d {
		case dateNegInf:
			return 0, -1
		case datePosInf:
			return 0, 1
		default:
			return int64(d) * usecsPerDay, 0
		}
	}
	switch v := int64(binary.BigEndian.Uint64(body)); v {
	case tsNegInf:
		return 0, -1
	case tsPosInf:
		return 0, 1
	default:
		return v, 0
	}
}

// moveDatetime converts finite microseconds between local time and UTC as from → to requires,
// with PostgreSQL's range errors.
func moveDatetime(from, to Type, v int64, s *Session) (int64, error) {
	fromUTC, toUTC := from == Timestamptz, to == Timestamptz
	if fromUTC == toUTC {
		return v, nil
	}
	loc, err := s.location()
	if err != nil {
		return 0, err
	}
	if toUTC {
		v -= int64(determineOffset(v, loc)) * usecsPerSec
	} else {
		sec := floorDiv(v, usecsPerSec) + int64(postgresEpochJDate-unixEpochJDate)*secsPerDay
		_, off := time.Unix(sec, 0).In(loc).Zone()
		v += int64(off) * usecsPerSec
	}
	if to != Date && !validTimestamp(v) {
		msg := "timestamp out of range"
		if from == Date {
			msg = "date out of range for timestamp"
		}
		return 0, &Error{Code: CodeDatetimeFieldOverflow, Message: msg}
	}
	return v, nil
}

// DatetimeOverflowEdge is for a date, timestamp or timestamptz plaintext that Convert to type to
// (timestamp or timestamptz) refused with 22008: a value beyond to's range. PostgreSQL's
// cross-type comparisons (timestamp_cmp_date, timestamptz_cmp_timestamp, …) do not fail there:
// the value sorts above every finite value of to and below infinity, or above -infinity and below
// every finite value. edge is the plaintext of type to just below where it sorts (to's last
// finite value, or -infinity), so a bound just above edge places it; ok is false for other pairs.
func DatetimeOverflowEdge(to Type, plain []byte) (edge []byte, ok bool) {
	if len(plain) == 0 || !datetime(Type(plain[0])) || to != Timestamp && to != Timestamptz {
		return nil, false
	}
	from := Type(plain[0])
	_, body, err := canonical(from, plain)
	if err != nil {
		return nil, false
	}
	if _, inf := readDatetime(from, body); inf != 0 {
		return nil, false // infinities convert to infinities
	}
	// Only values near the ranges' far ends overflow. A date's sign is read from its days: its
	// microseconds (readDatetime) overflow int64 for the last dates.
	var late bool
	if from == Date {
		late = int32(binary.BigEndian.Uint32(body)) > 0
	} else {
		late = int64(binary.BigEndian.Uint64(body)) > 0
	}
	e := int64(tsNegInf)
	if late {
		e = endTimestamp - 1
	}
	return binary.BigEndian.AppendUint64([]byte{byte(to)}, uint64(e)), true
}
