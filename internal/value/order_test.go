package value

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// orderCase is one plaintext and a function comparing it with another of the same type as
// PostgreSQL does.
type orderCase struct {
	name  string
	plain []byte
}

func mustEncode(t testing.TB, typ Type, format int16, in []byte) []byte {
	t.Helper()
	p, err := Encode(nil, typ, format, in, nil)
	if err != nil {
		t.Fatalf("Encode(%s, %q): %v", typ, in, err)
	}
	return p
}

func cmpSign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// checkOrder asserts, for every pair, that the order forms compare as want says.
func checkOrder(t *testing.T, typ Type, vals [][]byte, want func(a, b []byte) int) {
	t.Helper()
	forms := make([][]byte, len(vals))
	for i, v := range vals {
		f, err := OrderForm(nil, typ, v)
		if err != nil {
			t.Fatalf("OrderForm(%s, %x): %v", typ, v, err)
		}
		forms[i] = f
	}
	for i := range vals {
		for j := range vals {
			if got, w := cmpSign(bytes.Compare(forms[i], forms[j])), want(vals[i][1:], vals[j][1:]); got != w {
				t.Fatalf("%s: %x vs %x: forms compare %d, PostgreSQL %d (forms %x, %x)", typ, vals[i], vals[j], got, w, forms[i], forms[j])
			}
		}
	}
}

func TestOrderFormIntegers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		typ      Type
		size     int
		min, max int64
	}{{Int2, 2, math.MinInt16, math.MaxInt16}, {Int4, 4, math.MinInt32, math.MaxInt32}, {Int8, 8, math.MinInt64, math.MaxInt64}} {
		vals := [][]byte{}
		for _, v := range []int64{tc.min, tc.min + 1, -256, -1, 0, 1, 255, 256, tc.max - 1, tc.max} {
			vals = append(vals, appendInt([]byte{byte(tc.typ)}, v, tc.size))
		}
		for range 150 {
			v := int64(rng.Uint64())
			if tc.size < 8 {
				v = v >> (64 - 8*tc.size)
			}
			vals = append(vals, appendInt([]byte{byte(tc.typ)}, v, tc.size))
		}
		checkOrder(t, tc.typ, vals, func(a, b []byte) int {
			return boolSign(readInt(a), readInt(b))
		})
	}
}

// boolSign compares two integers.
func boolSign(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func TestOrderFormFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float64{math.NaN(), math.Float64frombits(0x7FF8000000000001), math.Float64frombits(0xFFF8000000000000),
		math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.MaxFloat64, -math.MaxFloat64, 1, -1, 1.5, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32}
	// PostgreSQL's float8_cmp_internal: NaN = NaN, NaN above everything, -0 = 0.
	pgCmp := func(x, y float64) int {
		switch xn, yn := math.IsNaN(x), math.IsNaN(y); {
		case xn && yn:
			return 0
		case xn:
			return 1
		case yn:
			return -1
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	for _, bits := range []int{32, 64} {
		typ := Float8
		if bits == 32 {
			typ = Float4
		}
		var vals [][]byte
		add := func(f float64) {
			if bits == 32 {
				vals = append(vals, binary.BigEndian.AppendUint32([]byte{byte(typ)}, math.Float32bits(float32(f))))
			} else {
				vals = append(vals, binary.BigEndian.AppendUint64([]byte{byte(typ)}, math.Float64bits(f)))
			}
		}
		for _, f := range specials {
			add(f)
		}
		for range 200 {
			f := math.Float64frombits(rng.Uint64())
			if rng.IntN(2) == 0 {
				f = (rng.Float64() - 0.5) * 1000
			}
			add(f)
		}
		checkOrder(t, typ, vals, func(a, b []byte) int { return pgCmp(readFloat(a), readFloat(b)) })
	}
}

func TestOrderFormNumeric(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	texts := []string{"NaN", "Infinity", "-Infinity", "0", "0.000", "-0", "1", "1.0", "1.00", "10", "100", "0.1",
		"0.01", "0.10", "-1", "-1.0", "-10", "-0.1", "-0.01", "9999", "10000", "10001", "0.9999", "1e-1000", "-1e-1000",
		"1e1000", "-1e1000", "123456789012345678901234567890.123456789", "-123456789012345678901234567890.123456789",
		"12345.6789", "12345.67891", "12345.678", "-12345.678", "-12345.6789", "0.00012", "0.00013", "1200", "12000"}
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	for range 250 {
		s := digits(rng.IntN(12))
		if rng.IntN(2) == 0 {
			s += "." + digits(rng.IntN(12))
		}
		if s == "" || s[0] == '.' {
			s = "0" + s
		}
		if rng.IntN(3) == 0 {
			s += fmt.Sprintf("e%d", rng.IntN(80)-40)
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		texts = append(texts, s)
	}
	class := func(s string) (int, *big.Rat) {
		switch s {
		case "NaN":
			return 2, nil
		case "Infinity":
			return 1, nil
		case "-Infinity":
			return -1, nil
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat cannot parse %q", s)
		}
		return 0, r
	}
	var vals [][]byte
	src := map[string]string{}
	for _, s := range texts {
		p := mustEncode(t, Numeric, FormatText, []byte(s))
		vals = append(vals, p)
		src[string(p)] = s
	}
	checkOrder(t, Numeric, vals, func(a, b []byte) int {
		ca, ra := class(src[string(append([]byte{byte(Numeric)}, a...))])
		cb, rb := class(src[string(append([]byte{byte(Numeric)}, b...))])
		if ca != 0 || cb != 0 {
			return cmpSign(ca - cb)
		}
		return ra.Cmp(rb)
	})
	// 1.0 and 1.00 have one form; so have 0 and -0.000.
	f1, _ := OrderForm(nil, Numeric, mustEncode(t, Numeric, FormatText, []byte("1.0")))
	f2, _ := OrderForm(nil, Numeric, mustEncode(t, Numeric, FormatText, []byte("1.00")))
	if !bytes.Equal(f1, f2) {
		t.Fatalf("1.0 and 1.00 have forms %x and %x", f1, f2)
	}
}

func TestOrderFormDatetime(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var dates [][]byte
	for _, s := range []string{"-infinity", "infinity", "4713-01-01 BC", "2000-01-01", "1999-12-31", "5874897-12-31"} {
		dates = append(dates, mustEncode(t, Date, FormatText, []byte(s)))
	}
	for range 100 {
		d := int32(rng.IntN(4_000_000) - 2_000_000)
		dates = append(dates, binary.BigEndian.AppendUint32([]byte{byte(Date)}, uint32(d)))
	}
	checkOrder(t, Date, dates, func(a, b []byte) int {
		return boolSign(int64(int32(binary.BigEndian.Uint32(a))), int64(int32(binary.BigEndian.Uint32(b))))
	})
	for _, typ := range []Type{Timestamp, Timestamptz} {
		var ts [][]byte
		for _, s := range []string{"-infinity", "infinity", "2000-01-01 00:00:00", "1999-12-31 23:59:59.999999", "4713-01-01 00:00:00+00 BC", "294276-12-31 23:59:59.999999+00"} {
			ts = append(ts, mustEncode(t, typ, FormatText, []byte(s)))
		}
		for range 100 {
			v := int64(rng.IntN(1<<56)) - 1<<55
			ts = append(ts, binary.BigEndian.AppendUint64([]byte{byte(typ)}, uint64(v)))
		}
		checkOrder(t, typ, ts, func(a, b []byte) int {
			return boolSign(int64(binary.BigEndian.Uint64(a)), int64(binary.BigEndian.Uint64(b)))
		})
	}
}

func TestOrderFormText(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	texts := []string{"", "a", "ab", "abc", "b", "A", "Z", "z", "é", "e", "ê", "日本", "日", "\U0001F600", "\uFFFD", "a\u0080", "a\u007f", "a b"}
	runes := []rune{'a', 'b', 'A', 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff}
	for range 200 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteRune(runes[rng.IntN(len(runes))])
		}
		texts = append(texts, b.String())
	}
	for _, typ := range []Type{Text, Varchar} {
		var vals [][]byte
		for _, s := range texts {
			vals = append(vals, mustEncode(t, typ, FormatText, []byte(s)))
		}
		checkOrder(t, typ, vals, func(a, b []byte) int {
			// COLLATE "C" compares code points; for valid UTF-8 that is byte order.
			ra, rb := []rune(string(a)), []rune(string(b))
			for i := 0; i < len(ra) && i < len(rb); i++ {
				if ra[i] != rb[i] {
					return boolSign(int64(ra[i]), int64(rb[i]))
				}
			}
			return boolSign(int64(len(ra)), int64(len(rb)))
		})
	}
}

func TestOrderFormRefuses(t *testing.T) {
	if _, err := OrderForm(nil, Bool, []byte{byte(Bool), 1}); err == nil {
		t.Fatal("bool has an order form")
	}
	if _, err := OrderForm(nil, Int4, []byte{byte(Int8), 0, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Fatal("a wrong tag was accepted")
	}
	if _, err := OrderForm(nil, Int4, []byte{byte(Int4), 1}); err == nil {
		t.Fatal("a short int4 was accepted")
	}
}

func FuzzOrderForm(f *testing.F) {
	f.Add(uint8(Numeric), []byte("12.5"), []byte("-3e10"))
	f.Add(uint8(Text), []byte("ab"), []byte("a"))
	f.Add(uint8(Float8), []byte("NaN"), []byte("-0"))
	f.Fuzz(func(t *testing.T, typ uint8, a, b []byte) {
		ty := Type(typ)
		if !SupportsOrder(ty) || ty == Date || ty == Timestamp || ty == Timestamptz {
			return
		}
		pa, err1 := Encode(nil, ty, FormatText, a, nil)
		pb, err2 := Encode(nil, ty, FormatText, b, nil)
		if err1 != nil || err2 != nil {
			_, _ = OrderForm(nil, ty, append([]byte{typ}, a...)) // must not panic on any bytes
			return
		}
		fa, err := OrderForm(nil, ty, pa)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := OrderForm(nil, ty, pb)
		// Equal forms exactly when the equality forms are equal (PostgreSQL's =).
		ea, _ := EqualityForm(nil, ty, pa)
		eb, _ := EqualityForm(nil, ty, pb)
		if bytes.Equal(fa, fb) != bytes.Equal(ea, eb) {
			t.Fatalf("%s %q vs %q: order forms equal %v, equality forms equal %v", ty, a, b, bytes.Equal(fa, fb), bytes.Equal(ea, eb))
		}
	})
}
