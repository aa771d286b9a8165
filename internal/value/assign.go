package value

import (
	"math"
	"math/big"
	"strconv"
)

// Assignable reports whether a parameter the client declared as type from may be stored into an
// encrypted column of type to: Convertible's pairs, plus PostgreSQL's assignment and implicit
// casts whose result pgseal reproduces exactly (pg_cast castcontext 'a' or 'i'):
//   - int2/int4/int8 into numeric (int*_numeric: the same value, scale 0), float4 and float8
//     (i*tof, i*tod: a C conversion, rounded to nearest even as Go's is);
//   - numeric into text and varchar (numeric_out's text), into int2, int4 and int8 (numeric_int2,
//     …: rounded half away from zero, then range-checked) and into float4 and float8
//     (numeric_float4, numeric_float8: float4in or float8in of numeric_out's text);
//   - float4 into float8 (float4_float8: exact) and float8 into float4 (float84: rounded, with
//     PostgreSQL's overflow and underflow errors);
//   - json into jsonb (jsonb_in of the text) and jsonb into json (jsonb_out's text).
//
// Drivers declare such types for ordinary values (psycopg 3 sends a Python float as float8 and
// an int as int2/int4/int8 whatever the column). float into numeric is not here: float8_numeric
// goes through a 15-digit decimal that pgseal does not reproduce.
func Assignable(from, to Type) bool {
	if Convertible(from, to) {
		return true
	}
	switch {
	case integral(from):
		return to == Numeric || to == Float4 || to == Float8
	case from == Numeric:
		return to == Float4 || to == Float8 || integral(to) || textual(to)
	case from == Float4:
		return to == Float8
	case from == Float8:
		return to == Float4
	case from == JSON:
		return to == JSONB
	case from == JSONB:
		return to == JSON
	}
	return false
}

// ComparableAs reports whether pgseal compares a column of type to with a value declared as
// from as PostgreSQL does. PostgreSQL resolves `col = $1` with the operator of the two types:
// int4 = int8 compares as int8 (Convertible's range rule covers it), numeric = int4 converts the
// int4 to numeric, and float8 = float4 widens the float4 exactly: the value converted to type to
// gives the same answer. int4 = numeric converts the int4 to numeric, and float4 = float8 compares
// in float8, the column's value widened (so does float4 = int4 or numeric, the value converted to
// float8 first): converting the value would answer differently (1.5 would round, 0.1 would
// become float4's 0.1), so the wire places it among the column's values instead (seal's
// numericOnInt, float8OnFloat4). Other date/time pairs (timestamp = timestamptz, date =
// timestamp) are refused: PostgreSQL converts the column's side.
func ComparableAs(from, to Type) bool {
	switch {
	case from == to || textual(from) && textual(to) || integral(from) && integral(to):
		return true
	case integral(from):
		return to == Numeric || to == Float8 || to == Float4 // float4 = int4 is float48eq (seal's float8OnFloat4)
	case from == Numeric && integral(to):
		return true // compared as numeric: the wire places the value among the integers (NumericBound)
	case from == Float8 && to == Float4:
		return true // compared in float8: the wire does (seal's float8OnFloat4)
	case from == Date && (to == Timestamp || to == Timestamptz), from == Timestamp && to == Timestamptz:
		// timestamp = date and timestamptz = date or timestamp convert the value's side
		// (date2timestamp, timestamp2timestamptz in the session's TimeZone), as Convert does;
		// beyond the column type's range they do not fail (seal's datetimeBeyond)
		return true
	case from == Numeric && (to == Float8 || to == Float4):
		// float8 = numeric converts the numeric (numeric_float8), as the wire does; float4 =
		// numeric is float48eq on that float8 (seal's float8OnFloat4)
		return true
	}
	return from == Float4 && to == Float8
}

// assign is Convert's part for Assignable's pairs beyond Convertible; ok is false for others.
func assign(dst []byte, from, to Type, body []byte) (out []byte, ok bool, err error) {
	switch {
	case integral(from) && to == Numeric:
		out, err = parseNumeric(append(dst, byte(to)), strconv.AppendInt(nil, readInt(body), 10))
		return out, true, err
	case integral(from) && to == Float4:
		return appendFloat32(append(dst, byte(to)), float32(readInt(body))), true, nil
	case integral(from) && to == Float8:
		return appendFloat(append(dst, byte(to)), float64(readInt(body)), 64), true, nil
	case from == Numeric && textual(to):
		return formatNumeric(append(dst, byte(to)), body), true, nil // numeric_out's text
	case from == Numeric && integral(to):
		v, err := numericInt(body, to)
		if err != nil {
			return dst, true, err
		}
		return appendInt(append(dst, byte(to)), v, int(to.Size())), true, nil
	case from == Numeric && (to == Float4 || to == Float8):
		// numeric_float8 and numeric_float4 run float8in/float4in on numeric_out's text: the
		// same digits, but numeric has no negative zero (an unquoted -0.0 stores 0), and the
		// range errors are the float's.
		bits := 64
		if to == Float4 {
			bits = 32
		}
		f, err := parseFloat(to, formatNumeric(nil, body), bits)
		if err != nil {
			return dst, true, err
		}
		return appendFloat(append(dst, byte(to)), f, bits), true, nil
	case from == Float4 && to == Float8:
		return appendFloat(append(dst, byte(to)), readFloat(body), 64), true, nil
	case from == Float8 && to == Float4:
		f := readFloat(body)
		r := float32(f)
		switch {
		case math.IsInf(float64(r), 0) && !math.IsInf(f, 0):
			return dst, true, &Error{Code: CodeNumericValueOutOfRange, Message: "value out of range: overflow"}
		case r == 0 && f != 0:
			return dst, true, &Error{Code: CodeNumericValueOutOfRange, Message: "value out of range: underflow"}
		}
		return appendFloat32(append(dst, byte(to)), r), true, nil
	case from == JSON && to == JSONB:
		out, err = encodeJSONB(append(dst, byte(to)), body)
		return out, true, err
	case from == JSONB && to == JSON:
		// The stored jsonb body is jsonb_out's text, which is what the cast to json yields.
		return append(append(dst, byte(to)), body...), true, nil
	}
	return dst, false, nil
}

// appendFloat32 appends f as float4send does, without a detour through float64 (which would
// round an int64 twice).
func appendFloat32(dst []byte, f float32) []byte {
	b := math.Float32bits(f)
	return append(dst, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

// NumericBound places a numeric plaintext x among the int64 values, as PostgreSQL compares an
// integer with a numeric (the integer converted to numeric, exactly): floor is the Int8
// plaintext of ⌊x⌋ and whole reports x = ⌊x⌋, when ⌊x⌋ is an int64. Otherwise beyond is -1 (x
// is below every int64: -Infinity, or below -2^63) or 1 (above every one: Infinity, NaN, which
// numeric orders above every number, or 2^63 and more).
func NumericBound(plain []byte) (floor []byte, whole bool, beyond int, err error) {
	if _, _, err := canonical(Numeric, plain); err != nil {
		return nil, false, 0, err
	}
	n, _ := decodeNumeric(plain[1:])
	out := 1
	if n.sign == numericNeg || n.sign == numericNInf {
		out = -1
	}
	mag, ok := n.intPart()
	if n.sign != numericPos && n.sign != numericNeg || !ok {
		return nil, false, out, nil
	}
	whole = true
	for i := max(n.weight+1, 0); i < len(n.digits); i++ {
		whole = whole && n.digits[i] == 0
	}
	if n.sign == numericNeg {
		mag.Neg(mag)
		if !whole {
			mag.Sub(mag, big.NewInt(1))
		}
	}
	if !mag.IsInt64() {
		return nil, false, out, nil
	}
	return appendInt([]byte{byte(Int8)}, mag.Int64(), 8), whole, 0, nil
}

// numericInt is numeric_int2/int4/int8: the value rounded to an integer half away from zero
// (round_var), range-checked for to; NaN and the infinities cannot be converted (0A000).
func numericInt(body []byte, to Type) (int64, error) {
	n, _ := decodeNumeric(body) // canonical: checked by the caller
	switch n.sign {
	case numericNaN:
		return 0, &Error{Code: CodeFeatureNotSupported, Message: "cannot convert NaN to " + to.sqlName()}
	case numericPInf, numericNInf:
		return 0, &Error{Code: CodeFeatureNotSupported, Message: "cannot convert infinity to " + to.sqlName()}
	}
	outOfRange := &Error{Code: CodeNumericValueOutOfRange, Message: to.sqlName() + " out of range"}
	mag, ok := n.intPart()
	if !ok {
		return 0, outOfRange
	}
	// The digit after the integer part starts the fraction: its first decimal digit decides the
	// rounding.
	if f := n.weight + 1; f >= 0 && f < len(n.digits) && n.digits[f] >= nbase/2 {
		mag.Add(mag, big.NewInt(1))
	}
	if n.sign == numericNeg {
		mag.Neg(mag)
	}
	lo, hi := intRange(to)
	if !mag.IsInt64() || mag.Int64() < lo || mag.Int64() > hi {
		return 0, outOfRange
	}
	return mag.Int64(), nil
}

// intPart returns the magnitude of n's integer part; ok is false when it is 10^20 or more
// (digits are base 10,000: a weight above 4), beyond every int64, and not worked out: a weight
// of 32,767 would take as many multiplications of a growing number (≈ 0.1 s per value).
// digits[i] is worth nbase^(weight-i).
func (n pgNumeric) intPart() (mag *big.Int, ok bool) {
	if n.weight > 4 {
		return nil, false
	}
	mag = new(big.Int)
	for i := 0; i <= n.weight; i++ {
		d := int64(0)
		if i < len(n.digits) {
			d = int64(n.digits[i])
		}
		mag.Mul(mag, big.NewInt(nbase)).Add(mag, big.NewInt(d))
	}
	return mag, true
}
