package value

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// pgNaN is get_float8_nan(): the quiet NaN with an empty payload. (Go's math.NaN() has payload 1.)
var pgNaN = math.Float64frombits(0x7FF8000000000000)

var (
	float4Codec = floatCodec(Float4, 32)
	float8Codec = floatCodec(Float8, 64)
)

// floatCodec builds the codec for IEEE 754 binary32/binary64, stored big-endian as float4send and
// float8send do (bits preserved, including NaN payloads).
func floatCodec(t Type, bits int) codec {
	size := bits / 8
	return codec{
		encText: func(dst, in []byte, _ *Session) ([]byte, error) {
			f, err := parseFloat(t, in, bits)
			if err != nil {
				return dst, err
			}
			return appendFloat(dst, f, bits), nil
		},
		encBin: func(dst, in []byte) ([]byte, error) {
			if len(in) != size {
				return dst, binaryError(t)
			}
			return append(dst, in...), nil
		},
		check: fixedLen(t, size),
		decText: func(dst, c []byte, s *Session) ([]byte, error) {
			return formatFloat(dst, readFloat(c), bits, s.ExtraFloatDigits()), nil
		},
		eq: func(dst, c []byte) ([]byte, error) {
			// float8eq: NaN equals NaN (whatever its payload) and -0 equals 0.
			f := readFloat(c)
			switch {
			case math.IsNaN(f):
				f = pgNaN
			case f == 0:
				f = 0
			}
			return appendFloat(dst, f, bits), nil
		},
	}
}

func readFloat(c []byte) float64 {
	if len(c) == 4 {
		return float64(math.Float32frombits(binary.BigEndian.Uint32(c)))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(c))
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	if bits == 32 {
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(f)))
	}
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// parseFloat mirrors float8in/float4in: surrounding whitespace, NaN, [+-]Infinity and [+-]inf in
// any case, and strtod's decimal syntax. Overflow and underflow to zero of a non-zero literal are
// out of range (22003); denormals are accepted. strtod's hex floats are not accepted (documented).
func parseFloat(t Type, in []byte, bits int) (float64, error) {
	b := trimSpace(in)
	if len(b) == 0 {
		return 0, syntaxError(t)
	}
	switch strings.ToLower(string(b)) {
	case "nan", "+nan", "-nan":
		return pgNaN, nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	num, ok := floatSyntax(b)
	if !ok {
		return 0, syntaxError(t)
	}
	f, err := strconv.ParseFloat(num, bits)
	if err != nil || math.IsInf(f, 0) {
		return 0, rangeError(t)
	}
	if f == 0 && hasNonZeroDigit(num) {
		return 0, rangeError(t) // underflow: strtod sets ERANGE and returns 0
	}
	return f, nil
}

// floatSyntax checks strtod's syntax and returns the string for strconv.ParseFloat: decimal as
// is, hexadecimal ("0x1.8p3", "0x10") with the binary exponent Go requires made explicit.
func floatSyntax(b []byte) (string, bool) {
	if decimalFloatSyntax(b) {
		return string(b), true
	}
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if len(b) < i+2 || b[i] != '0' || b[i+1] != 'x' && b[i+1] != 'X' {
		return "", false
	}
	i += 2
	digits := 0
	for ; i < len(b) && isHex(b[i]); i++ {
		digits++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && isHex(b[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return "", false
	}
	if i == len(b) {
		return string(b) + "p0", true
	}
	if b[i] != 'p' && b[i] != 'P' {
		return "", false
	}
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i == len(b) || !allDigits(string(b[i:])) {
		return "", false
	}
	return string(b), true
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// decimalFloatSyntax accepts [+-] digits [. digits] [e [+-] digits], with at least one digit in
// the mantissa, which is strtod's decimal form. Go's ParseFloat would also take underscores and
// hex; PostgreSQL's float input does not take underscores.
func decimalFloatSyntax(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		digits++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

func hasNonZeroDigit(s string) bool {
	hex := strings.Contains(s, "x") || strings.Contains(s, "X")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !hex && (c == 'e' || c == 'E') || hex && (c == 'p' || c == 'P') {
			return false
		}
		if c >= '1' && c <= '9' || hex && c != 'x' && c != 'X' && isHex(c) && c != '0' {
			return true
		}
	}
	return false
}

// formatFloat mirrors float8out/float4out. With extra_float_digits > 0 (the default 1) PostgreSQL
// prints the shortest representation that round-trips (Ryu), in fixed notation when the decimal
// exponent is in [-4, 15) for float8 or [-4, 6) for float4 and in exponent notation otherwise.
// With extra_float_digits <= 0 it prints printf("%.*g", DBL_DIG+extra, v).
func formatFloat(dst []byte, f float64, bits, extra int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	digs := 15 // DBL_DIG
	if bits == 32 {
		digs = 6 // FLT_DIG
	}
	if extra <= 0 {
		// Go's 'g' with an explicit precision matches C's %g (trailing zeros dropped).
		return strconv.AppendFloat(dst, f, 'g', digs+extra, bits)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	// The decimal exponent of the shortest representation decides the notation.
	e := shortestE(f, bits)
	mant, expStr, _ := strings.Cut(string(e), "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= digs {
		return append(dst, e...)
	}
	// Fixed notation of the same digits.
	if mant[0] == '-' {
		dst = append(dst, '-')
		mant = mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	if exp < 0 {
		dst = append(dst, "0."...)
		dst = append(dst, strings.Repeat("0", -exp-1)...)
		return append(dst, digits...)
	}
	if len(digits) <= exp+1 {
		dst = append(dst, digits...)
		return append(dst, strings.Repeat("0", exp+1-len(digits))...)
	}
	dst = append(dst, digits[:exp+1]...)
	dst = append(dst, '.')
	return append(dst, digits[exp+1:]...)
}

// shortestE returns the shortest decimal, in 'e' notation, that PostgreSQL's Ryu (d2s.c/f2s.c)
// prints. Go's shortest formatting treats the rounding interval as closed when the mantissa is
// even; PostgreSQL's output never lands exactly on the midpoint to a neighbouring float, so when
// Go's answer is such a midpoint, the next longer correctly rounded form is used instead.
func shortestE(f float64, bits int) []byte {
	e := strconv.AppendFloat(nil, f, 'e', -1, bits)
	// A midpoint odd*2^-k needs about log10(odd) + 0.7k significant digits, more than the 17 (9)
	// shortest digits of a float64 (float32) unless the spacing of floats is near 1 or larger, so
	// smaller magnitudes skip the exact check.
	if limit := 0x1p52; bits == 32 && math.Abs(f) < 0x1p20 || bits == 64 && math.Abs(f) < limit {
		return e
	}
	if !isMidpoint(e, f, bits) {
		return e
	}
	for prec := countDigits(e); prec < 17; prec++ {
		c := strconv.AppendFloat(nil, f, 'e', prec, bits)
		if !isMidpoint(c, f, bits) {
			return trimMantissaZeros(c)
		}
	}
	return strconv.AppendFloat(nil, f, 'e', 16, bits)
}

func countDigits(e []byte) int {
	n := 0
	for _, c := range e {
		if c == 'e' {
			break
		}
		if isDigit(c) {
			n++
		}
	}
	return n
}

// trimMantissaZeros drops trailing zeros of the mantissa of an 'e' formatted number.
func trimMantissaZeros(e []byte) []byte {
	s := string(e)
	mant, exp, _ := strings.Cut(s, "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(mant, "0")
		mant = strings.TrimSuffix(mant, ".")
	}
	return []byte(mant + "e" + exp)
}

// isMidpoint reports whether the decimal d lies exactly halfway between f and a neighbouring
// float of the given size.
func isMidpoint(d []byte, f float64, bits int) bool {
	const prec = 1200 // enough to hold any float64 midpoint and 17-digit decimal exactly
	x, _, err := big.ParseFloat(string(d), 10, prec, big.ToNearestEven)
	if err != nil {
		return false
	}
	fx := new(big.Float).SetPrec(prec).SetFloat64(f)
	var next float64
	if x.Cmp(fx) > 0 {
		next = nextAfter(f, math.Inf(1), bits)
	} else {
		next = nextAfter(f, math.Inf(-1), bits)
	}
	mid := new(big.Float).SetPrec(prec).SetFloat64(next)
	mid.Add(mid, fx)
	mid.Quo(mid, big.NewFloat(2))
	return x.Cmp(mid) == 0
}

func nextAfter(f, to float64, bits int) float64 {
	if bits == 32 {
		return float64(math.Nextafter32(float32(f), float32(to)))
	}
	return math.Nextafter(f, to)
}
