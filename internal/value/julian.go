package value

import "math"

// Calendar constants from PostgreSQL's datatype/timestamp.h.
const (
	postgresEpochJDate = 2451545 // date2j(2000, 1, 1)
	unixEpochJDate     = 2440588 // date2j(1970, 1, 1)
	secsPerDay         = 86400
	usecsPerDay        = int64(86400000000)
	usecsPerSec        = int64(1000000)

	julianMinYear  = -4713
	julianMinMonth = 11
	julianMaxYear  = 5874898
	julianMaxMonth = 6

	dateEndJulian = 2147483494 // DATE_END_JULIAN: 5874898-01-01

	minTimestamp = int64(-211813488000000000) // MIN_TIMESTAMP: 4714-11-24 00:00:00 BC
	endTimestamp = int64(9223371331200000000) // END_TIMESTAMP: 294277-01-01 00:00:00

	dateNegInf = math.MinInt32 // DATEVAL_NOBEGIN
	datePosInf = math.MaxInt32 // DATEVAL_NOEND
	tsNegInf   = math.MinInt64 // DT_NOBEGIN
	tsPosInf   = math.MaxInt64 // DT_NOEND
)

// date2j is PostgreSQL's date2j: the Julian day number of a proleptic Gregorian date, with
// astronomical years (1 BC is year 0).
func date2j(year, month, day int) int {
	if month > 2 {
		month++
		year += 4800
	} else {
		month += 13
		year += 4799
	}
	century := year / 100
	julian := year*365 - 32167
	julian += year/4 - century + century/4
	julian += 7834*month/256 + day
	return julian
}

// j2date is PostgreSQL's j2date (which works in unsigned arithmetic).
func j2date(jd int) (year, month, day int) {
	julian := uint32(jd)
	julian += 32044
	quad := julian / 146097
	extra := (julian-quad*146097)*4 + 3
	julian += 60 + quad*3 + extra/146097
	quad = julian / 1461
	julian -= quad * 1461
	y := julian * 4 / 1461
	if y != 0 {
		julian = (julian+305)%365 + 123
	} else {
		julian = (julian+306)%366 + 123
	}
	y += quad * 4
	year = int(y) - 4800
	q := julian * 2141 / 65536
	day = int(julian - 7834*q/256)
	month = int((q+10)%12 + 1)
	return year, month, day
}

func validJulian(y, m int) bool {
	return (y > julianMinYear || y == julianMinYear && m >= julianMinMonth) &&
		(y < julianMaxYear || y == julianMaxYear && m < julianMaxMonth)
}

func validDate(d int64) bool {
	return d >= -postgresEpochJDate && d < dateEndJulian-postgresEpochJDate
}

func validTimestamp(t int64) bool {
	return t >= minTimestamp && t < endTimestamp
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
