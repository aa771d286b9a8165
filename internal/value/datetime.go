package value

import (
	"encoding/binary"
	"strconv"
	"time"
)

// Dates are int32 days since 2000-01-01 and timestamps int64 microseconds since
// 2000-01-01 00:00:00 (UTC for timestamptz), as date_send and timestamp_send write them, with
// ±infinity at the integer extremes.

var dateCodec = codec{
	encText: func(dst, in []byte, s *Session) ([]byte, error) {
		d, err := parseDate(in, s)
		if err != nil {
			return dst, err
		}
		return binary.BigEndian.AppendUint32(dst, uint32(d)), nil
	},
	encBin: func(dst, in []byte) ([]byte, error) {
		if len(in) != 4 {
			return dst, binaryError(Date)
		}
		if !dateOK(int32(binary.BigEndian.Uint32(in))) {
			return dst, outOfRangeDatetime(Date)
		}
		return append(dst, in...), nil
	},
	check: func(c []byte) error {
		if len(c) != 4 || !dateOK(int32(binary.BigEndian.Uint32(c))) {
			return corrupt(Date)
		}
		return nil
	},
	decText: func(dst, c []byte, s *Session) ([]byte, error) {
		if err := s.checkISO(); err != nil {
			return dst, err
		}
		return formatDate(dst, int32(binary.BigEndian.Uint32(c))), nil
	},
}

func dateOK(d int32) bool { return d == dateNegInf || d == datePosInf || validDate(int64(d)) }

var (
	timestampCodec   = tsCodec(Timestamp)
	timestamptzCodec = tsCodec(Timestamptz)
)

func tsCodec(t Type) codec {
	return codec{
		encText: func(dst, in []byte, s *Session) ([]byte, error) {
			v, err := parseTimestamp(t, in, s)
			if err != nil {
				return dst, err
			}
			return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
		},
		encBin: func(dst, in []byte) ([]byte, error) {
			if len(in) != 8 {
				return dst, binaryError(t)
			}
			if !tsOK(int64(binary.BigEndian.Uint64(in))) {
				return dst, outOfRangeDatetime(t)
			}
			return append(dst, in...), nil
		},
		check: func(c []byte) error {
			if len(c) != 8 || !tsOK(int64(binary.BigEndian.Uint64(c))) {
				return corrupt(t)
			}
			return nil
		},
		decText: func(dst, c []byte, s *Session) ([]byte, error) {
			if err := s.checkISO(); err != nil {
				return dst, err
			}
			return formatTimestamp(dst, t, int64(binary.BigEndian.Uint64(c)), s)
		},
	}
}

func tsOK(v int64) bool { return v == tsNegInf || v == tsPosInf || validTimestamp(v) }

// checkISO fails closed for output DateStyles this package does not reproduce.
func (s *Session) checkISO() error {
	if s != nil && s.nonISO {
		return &Error{Code: CodeFeatureNotSupported, Message: "DateStyle other than ISO is not supported for encrypted columns"}
	}
	return nil
}

// now is the clock for 'now'/'today'; PostgreSQL uses the transaction start, we use the moment
// of conversion.
func now() time.Time { return time.Now() }

func parseDate(in []byte, s *Session) (int32, error) {
	f, err := parseDateTime(Date, in, s.order())
	if err != nil {
		return 0, err
	}
	switch f.special {
	case dtPosInf:
		return datePosInf, nil
	case dtNegInf:
		return dateNegInf, nil
	case dtEpoch:
		return unixEpochJDate - postgresEpochJDate, nil
	case dtNow, dtToday, dtTomorrow, dtYesterday:
		loc, err := s.location()
		if err != nil {
			return 0, err
		}
		y, m, d := now().In(loc).Date()
		return int32(date2j(y, int(m), d) - postgresEpochJDate + relDays(f.special)), nil
	}
	if !validJulian(f.year, f.month) {
		return 0, outOfRangeDatetime(Date)
	}
	d := int64(date2j(f.year, f.month, f.day) - postgresEpochJDate)
	if !validDate(d) {
		return 0, outOfRangeDatetime(Date)
	}
	return int32(d), nil
}

func relDays(sp dtSpecial) int {
	switch sp {
	case dtTomorrow:
		return 1
	case dtYesterday:
		return -1
	}
	return 0
}

// parseTimestamp mirrors timestamp_in / timestamptz_in. A zone in the input is ignored for
// timestamp (as PostgreSQL does); for timestamptz a missing zone means the session TimeZone.
func parseTimestamp(t Type, in []byte, s *Session) (int64, error) {
	f, err := parseDateTime(t, in, s.order())
	if err != nil {
		return 0, err
	}
	if f.special != dtNone {
		return specialTimestamp(t, f.special, s)
	}
	if !validJulian(f.year, f.month) {
		return 0, outOfRangeDatetime(t)
	}
	days := int64(date2j(f.year, f.month, f.day) - postgresEpochJDate)
	if days < minTimestamp/usecsPerDay-2 || days > endTimestamp/usecsPerDay+2 {
		return 0, outOfRangeDatetime(t) // tm2timestamp's overflow checks
	}
	local := days*usecsPerDay + ((int64(f.hour)*60+int64(f.minute))*60+int64(f.sec))*usecsPerSec + f.fsec
	if t == Timestamptz {
		off, err := zoneOffset(f, local, s)
		if err != nil {
			return 0, err
		}
		local -= int64(off) * usecsPerSec
	}
	if !validTimestamp(local) {
		return 0, outOfRangeDatetime(t)
	}
	return local, nil
}

func specialTimestamp(t Type, sp dtSpecial, s *Session) (int64, error) {
	switch sp {
	case dtPosInf:
		return tsPosInf, nil
	case dtNegInf:
		return tsNegInf, nil
	case dtEpoch:
		return int64(unixEpochJDate-postgresEpochJDate) * usecsPerDay, nil
	}
	loc, err := s.location()
	if err != nil {
		return 0, err
	}
	n := now().In(loc)
	if sp == dtNow {
		us := n.UnixMicro() + int64(unixEpochJDate-postgresEpochJDate)*usecsPerDay
		if t == Timestamp {
			_, off := n.Zone()
			us += int64(off) * usecsPerSec
		}
		return us, nil
	}
	y, m, d := n.Date()
	local := int64(date2j(y, int(m), d)-postgresEpochJDate+relDays(sp)) * usecsPerDay
	if t == Timestamptz {
		off := determineOffset(local, loc)
		local -= int64(off) * usecsPerSec
	}
	return local, nil
}

// zoneOffset returns the UTC offset (seconds east) that applies to a local timestamp.
func zoneOffset(f dtFields, local int64, s *Session) (int, error) {
	if f.hasZone && f.zoneLoc == nil {
		return f.zoneOff, nil
	}
	loc := f.zoneLoc
	if loc == nil {
		var err error
		if loc, err = s.location(); err != nil {
			return 0, err
		}
	}
	return determineOffset(local, loc), nil
}

// determineOffset mirrors DetermineTimeZoneOffsetInternal: find the first transition after the
// local time minus a day; a time in a spring-forward gap takes the offset from before the
// transition, an ambiguous fall-back time the offset from after it.
func determineOffset(local int64, loc *time.Location) int {
	mytime := floorDiv(local, usecsPerSec) + int64(postgresEpochJDate-unixEpochJDate)*secsPerDay
	prev := time.Unix(mytime-secsPerDay, 0).In(loc)
	_, beforeOff := prev.Zone()
	_, end := prev.ZoneBounds()
	if end.IsZero() {
		return beforeOff
	}
	boundary := end.Unix()
	_, afterOff := end.In(loc).Zone()
	beforeTime := mytime - int64(beforeOff)
	afterTime := mytime - int64(afterOff)
	switch {
	case beforeTime < boundary && afterTime < boundary:
		return beforeOff
	case beforeTime >= boundary && afterTime >= boundary:
		return afterOff
	case beforeTime > afterTime:
		return beforeOff
	}
	return afterOff
}

// formatDate mirrors date_out with DateStyle ISO.
func formatDate(dst []byte, d int32) []byte {
	switch d {
	case datePosInf:
		return append(dst, "infinity"...)
	case dateNegInf:
		return append(dst, "-infinity"...)
	}
	y, m, day := j2date(int(d) + postgresEpochJDate)
	dst = appendYMD(dst, y, m, day)
	if y <= 0 {
		dst = append(dst, " BC"...)
	}
	return dst
}

func appendYMD(dst []byte, y, m, d int) []byte {
	if y <= 0 {
		y = 1 - y
	}
	dst = appendPadded(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, m, 2)
	dst = append(dst, '-')
	return appendPadded(dst, d, 2)
}

func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// formatTimestamp mirrors timestamp_out/timestamptz_out with DateStyle ISO:
// "YYYY-MM-DD HH:MM:SS[.ffffff]" with trailing fraction zeros dropped, then for timestamptz the
// offset "+HH[:MM[:SS]]" in the session zone, then " BC".
func formatTimestamp(dst []byte, t Type, v int64, s *Session) ([]byte, error) {
	switch v {
	case tsPosInf:
		return append(dst, "infinity"...), nil
	case tsNegInf:
		return append(dst, "-infinity"...), nil
	}
	off := 0
	if t == Timestamptz {
		loc, err := s.location()
		if err != nil {
			return dst, err
		}
		sec := floorDiv(v, usecsPerSec) + int64(postgresEpochJDate-unixEpochJDate)*secsPerDay
		_, off = time.Unix(sec, 0).In(loc).Zone()
		v += int64(off) * usecsPerSec
	}
	date := floorDiv(v, usecsPerDay)
	tod := v - date*usecsPerDay
	y, m, d := j2date(int(date) + postgresEpochJDate)
	dst = appendYMD(dst, y, m, d)
	dst = append(dst, ' ')
	dst = appendTimeOfDay(dst, tod)
	if t == Timestamptz {
		dst = appendOffset(dst, off)
	}
	if y <= 0 {
		dst = append(dst, " BC"...)
	}
	return dst, nil
}

func appendTimeOfDay(dst []byte, tod int64) []byte {
	us := tod % usecsPerSec
	secs := tod / usecsPerSec
	dst = appendPadded(dst, int(secs/3600), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, int(secs/60%60), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, int(secs%60), 2)
	if us != 0 {
		var buf [7]byte
		buf[0] = '.'
		for i := 6; i >= 1; i-- {
			buf[i] = byte('0' + us%10)
			us /= 10
		}
		n := 7
		for buf[n-1] == '0' {
			n--
		}
		dst = append(dst, buf[:n]...)
	}
	return dst
}

// appendOffset mirrors EncodeTimezone: sign, two-digit hours, then minutes and seconds only when
// non-zero.
func appendOffset(dst []byte, off int) []byte {
	if off >= 0 {
		dst = append(dst, '+')
	} else {
		dst = append(dst, '-')
		off = -off
	}
	h, m, sec := off/3600, off/60%60, off%60
	dst = appendPadded(dst, h, 2)
	if m != 0 || sec != 0 {
		dst = append(dst, ':')
		dst = appendPadded(dst, m, 2)
	}
	if sec != 0 {
		dst = append(dst, ':')
		dst = appendPadded(dst, sec, 2)
	}
	return dst
}
