package value

import (
	"encoding/binary"
	"strings"
)

// Numeric signs in PostgreSQL's binary format (numeric.c).
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000

	numericDscaleMax = 0x3FFF    // NUMERIC_DSCALE_MAX
	numericMaxExp    = 1<<30 - 1 // INT_MAX/2 bounds an input exponent
	nbase            = 10000
)

// numericCodec stores numerics in PostgreSQL's binary format as make_result leaves them: leading
// and trailing zero base-10000 digits stripped, digits beyond dscale truncated, zero positive.
var numericCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) { return parseNumeric(dst, in) },
	encBin:  func(dst, in []byte) ([]byte, error) { return recvNumeric(dst, in) },
	check:   checkNumeric,
	decText: func(dst, c []byte, _ *Session) ([]byte, error) { return formatNumeric(dst, c), nil },
	eq: func(dst, c []byte) ([]byte, error) {
		// Equal numerics differ only in dscale once stripped: 1.0 = 1.00.
		n := len(dst)
		dst = append(dst, c...)
		dst[n+6], dst[n+7] = 0, 0
		return dst, nil
	},
}

// pgNumeric is the decoded binary form.
type pgNumeric struct {
	sign   uint16
	weight int
	dscale int
	digits []uint16
}

func (n pgNumeric) appendTo(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(n.digits)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(n.weight)))
	dst = binary.BigEndian.AppendUint16(dst, n.sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n.dscale))
	for _, d := range n.digits {
		dst = binary.BigEndian.AppendUint16(dst, d)
	}
	return dst
}

// numericSpecial returns NaN or ±Infinity as numeric_send writes them. Their dscale field comes
// from NUMERIC_DSCALE() applied to the special header word: 0 for NaN, 32 for the infinities.
func numericSpecial(sign uint16) pgNumeric {
	return pgNumeric{sign: sign, dscale: int(sign&0x1F80) >> 7}
}

// strip mirrors strip_var and make_result's overflow check.
func (n *pgNumeric) strip() error {
	for len(n.digits) > 0 && n.digits[0] == 0 {
		n.digits = n.digits[1:]
		n.weight--
	}
	for len(n.digits) > 0 && n.digits[len(n.digits)-1] == 0 {
		n.digits = n.digits[:len(n.digits)-1]
	}
	if len(n.digits) == 0 {
		n.sign, n.weight = numericPos, 0
	}
	if n.weight > 32767 || n.weight < -32768 || n.dscale > numericDscaleMax {
		return &Error{Code: CodeNumericValueOutOfRange, Message: "value overflows numeric format"}
	}
	return nil
}

// trunc mirrors trunc_var: drop digits beyond dscale decimal places.
func (n *pgNumeric) trunc() {
	// Groups up to base-10000 exponent -ceil(dscale/4) can hold visible digits.
	keep := n.weight + 1 + (n.dscale+3)/4
	if keep <= 0 {
		n.digits = nil
		return
	}
	if keep > len(n.digits) {
		return // every digit is visible
	}
	n.digits = n.digits[:keep]
	if rem := n.dscale % 4; rem != 0 {
		// The last kept group straddles dscale: zero its hidden low decimal digits.
		pow := [...]uint16{1, 1000, 100, 10}[rem]
		n.digits[keep-1] -= n.digits[keep-1] % pow
	}
}

func decodeNumeric(c []byte) (pgNumeric, bool) {
	if len(c) < 8 {
		return pgNumeric{}, false
	}
	nd := int(binary.BigEndian.Uint16(c))
	n := pgNumeric{
		weight: int(int16(binary.BigEndian.Uint16(c[2:]))),
		sign:   binary.BigEndian.Uint16(c[4:]),
		dscale: int(binary.BigEndian.Uint16(c[6:])),
	}
	if len(c) != 8+2*nd {
		return n, false
	}
	n.digits = make([]uint16, nd)
	for i := range n.digits {
		n.digits[i] = binary.BigEndian.Uint16(c[8+2*i:])
		if n.digits[i] >= nbase {
			return n, false
		}
	}
	switch n.sign {
	case numericPos, numericNeg, numericNaN, numericPInf, numericNInf:
	default:
		return n, false
	}
	return n, n.dscale <= numericDscaleMax
}

// recvNumeric mirrors numeric_recv.
func recvNumeric(dst, in []byte) ([]byte, error) {
	n, ok := decodeNumeric(in)
	if !ok {
		return dst, binaryError(Numeric)
	}
	if n.sign != numericPos && n.sign != numericNeg {
		s := numericSpecial(n.sign)
		return s.appendTo(dst), nil
	}
	n.trunc()
	if err := n.strip(); err != nil {
		return dst, err
	}
	return n.appendTo(dst), nil
}

// checkNumeric accepts only what recvNumeric produces.
func checkNumeric(c []byte) error {
	n, ok := decodeNumeric(c)
	if !ok {
		return corrupt(Numeric)
	}
	canon := pgNumeric{sign: n.sign, weight: n.weight, dscale: n.dscale, digits: append([]uint16(nil), n.digits...)}
	if n.sign != numericPos && n.sign != numericNeg {
		canon = numericSpecial(n.sign)
	} else {
		canon.trunc()
		if canon.strip() != nil {
			return corrupt(Numeric)
		}
	}
	if string(canon.appendTo(nil)) != string(c) {
		return corrupt(Numeric)
	}
	return nil
}

// parseNumeric mirrors numeric_in and set_var_from_str of PostgreSQL 15.
func parseNumeric(dst, in []byte) ([]byte, error) {
	b := trimSpace(in)
	switch strings.ToLower(string(b)) {
	case "nan":
		return numericSpecial(numericNaN).appendTo(dst), nil
	case "infinity", "+infinity", "inf", "+inf":
		return numericSpecial(numericPInf).appendTo(dst), nil
	case "-infinity", "-inf":
		return numericSpecial(numericNInf).appendTo(dst), nil
	}
	neg, digits, dweight, dscale, err := scanDecimal(b)
	if err != nil {
		return dst, err
	}
	n := fromDecimal(neg, digits, dweight, dscale)
	if err := n.strip(); err != nil {
		return dst, err
	}
	return n.appendTo(dst), nil
}

// scanDecimal parses [+-] digits [. digits] [e [+-] digits] into decimal digits (0-9), the
// decimal weight (of the first digit, after the exponent) and the display scale.
func scanDecimal(b []byte) (neg bool, digits []byte, dweight, dscale int, err error) {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	dweight = -1
	havePoint := false
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			digits = append(digits, c-'0')
			if havePoint {
				dscale++
			} else {
				dweight++
			}
		} else if c == '.' && !havePoint {
			havePoint = true
		} else {
			break
		}
	}
	if len(digits) == 0 {
		return false, nil, 0, 0, syntaxError(Numeric)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp, end, ok := scanExponent(b[i+1:])
		if !ok {
			return false, nil, 0, 0, syntaxError(Numeric)
		}
		if exp >= numericMaxExp || exp <= -numericMaxExp {
			return false, nil, 0, 0, &Error{Code: CodeNumericValueOutOfRange, Message: "value overflows numeric format"}
		}
		i += 1 + end
		dweight += exp
		dscale = max(dscale-exp, 0)
	}
	if i != len(b) {
		return false, nil, 0, 0, syntaxError(Numeric)
	}
	return neg, digits, dweight, dscale, nil
}

// scanExponent reads [+-]digits within ±NUMERIC_MAX_PRECISION.
func scanExponent(b []byte) (int, int, bool) {
	i, sign := 0, 1
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		if b[i] == '-' {
			sign = -1
		}
		i++
	}
	start, exp := i, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if exp < numericMaxExp { // saturate: anything larger is out of range anyway
			exp = exp*10 + int(b[i]-'0')
		}
	}
	if i == start {
		return 0, 0, false
	}
	return sign * exp, i, true
}

// fromDecimal groups decimal digits into base-10000 digits. digits[0] has decimal weight dweight.
func fromDecimal(neg bool, digits []byte, dweight, dscale int) pgNumeric {
	// Base-10000 weight of the first digit, and how many decimal zeros pad the first group.
	weight := floorDiv(dweight, 4)
	pad := 3 - (dweight - 4*weight)
	n := pgNumeric{sign: numericPos, weight: weight, dscale: dscale}
	if neg {
		n.sign = numericNeg
	}
	// Digits beyond dscale are dropped (they are zeros after a positive exponent anyway).
	if last := dweight + dscale + 1; last < len(digits) {
		if last < 0 {
			last = 0
		}
		digits = digits[:last]
	}
	var g, cnt uint16 = 0, uint16(pad)
	for _, d := range digits {
		g = g*10 + uint16(d)
		cnt++
		if cnt == 4 {
			n.digits = append(n.digits, g)
			g, cnt = 0, 0
		}
	}
	if cnt > 0 {
		for ; cnt < 4; cnt++ {
			g *= 10
		}
		n.digits = append(n.digits, g)
	}
	return n
}

// floorDiv divides rounding toward negative infinity.
func floorDiv[T int | int64](a, b T) T {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// formatNumeric mirrors get_str_from_var for a canonical (validated) numeric.
func formatNumeric(dst, c []byte) []byte {
	n, _ := decodeNumeric(c)
	switch n.sign {
	case numericNaN:
		return append(dst, "NaN"...)
	case numericPInf:
		return append(dst, "Infinity"...)
	case numericNInf:
		return append(dst, "-Infinity"...)
	case numericNeg:
		dst = append(dst, '-')
	}
	group := func(k int) uint16 { // digit with base-10000 exponent k
		if i := n.weight - k; i >= 0 && i < len(n.digits) {
			return n.digits[i]
		}
		return 0
	}
	if n.weight < 0 {
		dst = append(dst, '0')
	} else {
		first := true
		for k := n.weight; k >= 0; k-- {
			dst = appendGroup(dst, group(k), first)
			first = false
		}
	}
	if n.dscale > 0 {
		dst = append(dst, '.')
		for k, left := -1, n.dscale; left > 0; k-- {
			buf := groupDigits(group(k))
			m := min(left, 4)
			dst = append(dst, buf[:m]...)
			left -= m
		}
	}
	return dst
}

func appendGroup(dst []byte, g uint16, trimLeading bool) []byte {
	buf := groupDigits(g)
	s := buf[:]
	if trimLeading {
		for len(s) > 1 && s[0] == '0' {
			s = s[1:]
		}
	}
	return append(dst, s...)
}

// groupDigits returns the four decimal digits of a base-10000 digit.
func groupDigits(g uint16) [4]byte {
	var buf [4]byte
	for j := 3; j >= 0; j-- {
		buf[j] = byte('0' + g%10)
		g /= 10
	}
	return buf
}
