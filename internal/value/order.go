package value

import (
	"encoding/binary"
	"math"
)

// Order forms (docs/search.md §2): byte strings whose unsigned lexicographic order is
// PostgreSQL's order of the type, the input of order terms.

// SupportsOrder reports whether OrderForm is defined for t.
func SupportsOrder(t Type) bool {
	switch t {
	case Int2, Int4, Int8, Float4, Float8, Numeric, Date, Timestamp, Timestamptz, Text, Varchar:
		return true
	}
	return false
}

// OrderVariable reports whether t's order forms have variable width (numeric, text, varchar):
// their bit strings mark every byte so that a value sorts before its extensions.
func OrderVariable(t Type) bool { return t == Numeric || t == Text || t == Varchar }

// Numeric order-form classes (the first byte).
const (
	ordNumNegInf byte = 0x00
	ordNumNeg    byte = 0x01
	ordNumZero   byte = 0x02
	ordNumPos    byte = 0x03
	ordNumPosInf byte = 0x04
	ordNumNaN    byte = 0x05
)

// OrderForm appends the order form of a plaintext (Encode's output: tag byte and canonical form)
// of type t to dst: two plaintexts' forms compare under bytes.Compare as PostgreSQL compares the
// values (text and varchar as under COLLATE "C"):
//   - integers: the value as int64 with the sign bit flipped, 8 bytes big-endian;
//   - float4, float8: the value as float64, -0 as 0, every NaN as one value above +Infinity, the
//     IEEE bits with the sign bit flipped for positives and all bits flipped for negatives;
//   - date (days), timestamp and timestamptz (microseconds): the count as int64, sign bit flipped;
//   - numeric: a class byte (-Infinity 0, negative 1, zero 2, positive 3, Infinity 4, NaN 5),
//     then for non-zero finite values the decimal exponent e of 0.d1d2… × 10^e (int32, sign bit
//     flipped, 4 bytes big-endian, complemented for negatives) and the significant decimal digits
//     without trailing zeros, one byte each (9-d for negatives, then 0xFF for negatives);
//   - text, varchar: the UTF-8 bytes.
//
// Other types have no order form (0A000). A plaintext of the wrong tag or form is XX001.
func OrderForm(dst []byte, t Type, plain []byte) ([]byte, error) {
	if !SupportsOrder(t) {
		return dst, &Error{Code: CodeFeatureNotSupported, Message: "type " + t.String() + " has no order search"}
	}
	_, body, err := canonical(t, plain)
	if err != nil {
		return dst, err
	}
	switch t {
	case Int2, Int4, Int8:
		return appendFlipped(dst, readInt(body)), nil
	case Date:
		return appendFlipped(dst, int64(int32(binary.BigEndian.Uint32(body)))), nil
	case Timestamp, Timestamptz:
		return appendFlipped(dst, int64(binary.BigEndian.Uint64(body))), nil
	case Float4, Float8:
		f := readFloat(body)
		var bits uint64
		switch {
		case math.IsNaN(f):
			bits = 0x7FF8000000000000 // above +Infinity (0x7FF0…) once flipped
		case f == 0:
			bits = 0
		default:
			bits = math.Float64bits(f)
		}
		if bits>>63 == 0 {
			bits ^= 1 << 63
		} else {
			bits = ^bits
		}
		return binary.BigEndian.AppendUint64(dst, bits), nil
	case Numeric:
		return numericOrderForm(dst, body), nil
	}
	return append(dst, body...), nil // text, varchar
}

func appendFlipped(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^1<<63)
}

// numericOrderForm appends the form of a canonical (validated) numeric without allocating.
func numericOrderForm(dst, c []byte) []byte {
	nd := int(binary.BigEndian.Uint16(c))
	weight := int(int16(binary.BigEndian.Uint16(c[2:])))
	switch binary.BigEndian.Uint16(c[4:]) {
	case numericNaN:
		return append(dst, ordNumNaN)
	case numericPInf:
		return append(dst, ordNumPosInf)
	case numericNInf:
		return append(dst, ordNumNegInf)
	case numericNeg:
		if nd > 0 {
			return numericDigitsForm(dst, c[8:8+2*nd], weight, true)
		}
	default:
		if nd > 0 {
			return numericDigitsForm(dst, c[8:8+2*nd], weight, false)
		}
	}
	return append(dst, ordNumZero)
}

// numericDigitsForm writes class, exponent and digits of a non-zero value whose base-10000 digits
// are groups (big-endian u16 each), the first of weight weight.
func numericDigitsForm(dst, groups []byte, weight int, neg bool) []byte {
	class := ordNumPos
	if neg {
		class = ordNumNeg
	}
	dst = append(dst, class)
	// Leading zero decimal digits of the first group (it is non-zero: the form is stripped).
	first := binary.BigEndian.Uint16(groups)
	lead := 0
	for p := uint16(1000); first < p; p /= 10 {
		lead++
	}
	e := uint32(int32(4*(weight+1)-lead)) ^ 1<<31
	if neg {
		e = ^e
	}
	dst = binary.BigEndian.AppendUint32(dst, e)
	// Digits: all of every group, less the first group's leading zeros and the trailing zeros.
	start := len(dst)
	for i := 0; i < len(groups); i += 2 {
		g := binary.BigEndian.Uint16(groups[i:])
		d := [4]byte{byte(g / 1000), byte(g / 100 % 10), byte(g / 10 % 10), byte(g % 10)}
		from := 0
		if i == 0 {
			from = lead
		}
		dst = append(dst, d[from:]...)
	}
	for len(dst) > start && dst[len(dst)-1] == 0 {
		dst = dst[:len(dst)-1]
	}
	if neg {
		for i := start; i < len(dst); i++ {
			dst[i] = 9 - dst[i]
		}
		dst = append(dst, 0xFF)
	}
	return dst
}
