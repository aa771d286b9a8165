package column

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
)

// ErrByteaText: a bytea text form that is neither valid hex nor valid escape format.
var ErrByteaText = errors.New("invalid bytea text")

// The one bytea codec for envelopes: how the server shows a bytea in text (DecodeByteaText) and
// how pgseal writes one (AppendByteaHex). Plaintext values of bytea-typed columns are the value
// codec's (internal/value), which follows PostgreSQL's byteain and its error messages.

// DecodeByteaText appends the bytes of a bytea in text output format: hex (`\x…`, the default)
// or escape (bytea_output = escape: `\\`, `\ooo`, other bytes as themselves).
func DecodeByteaText(dst, s []byte) ([]byte, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		h := s[2:]
		if len(h)%2 != 0 {
			return dst, ErrByteaText
		}
		n := len(dst)
		dst = slices.Grow(dst, len(h)/2)[:n+len(h)/2]
		if !decodeHex(dst[n:], h) {
			return dst[:n], ErrByteaText
		}
		return dst, nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			dst = append(dst, '\\')
			i++
		case i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3':
			dst = append(dst, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
		default:
			return dst, ErrByteaText
		}
	}
	return dst, nil
}

// hexVal maps a hex digit (either case) to its value and every other byte to 0xff: a decoded
// pair is valid when neither digit had a high nibble set.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
		t[c-'a'+'A'] = c - 'a' + 10
	}
	return t
}()

// hexPair maps two hex digits read as a little-endian uint16 (the first digit in the low byte)
// to the byte they encode, and every other pair to a value above 0xff. 128 KiB, of which the
// valid pairs touch about 50 cache lines.
var hexPair [1 << 16]uint16

func init() {
	for i := range hexPair {
		a, b := hexVal[i&0xff], hexVal[i>>8]
		hexPair[i] = uint16(a)<<4 | uint16(b)
		if a|b > 0xf {
			hexPair[i] = 0x100
		}
	}
}

// decodeHex decodes src (an even number of hex digits) into dst (len(src)/2 bytes) and reports
// whether every digit was valid; dst's contents are unspecified when not. It accepts exactly
// what encoding/hex.Decode accepts (0-9, a-f, A-F), a pair of digits per table look-up, eight
// pairs and one validity check a step. The envelopes of a text result pass through here:
// encoding/hex was ≈ 15% of the CPU of a decrypted row.
func decodeHex(dst, src []byte) bool {
	t := &hexPair
	var bad uint16
	for len(src) >= 16 && len(dst) >= 8 {
		x, y := binary.LittleEndian.Uint64(src), binary.LittleEndian.Uint64(src[8:])
		p0, p1, p2, p3 := t[uint16(x)], t[uint16(x>>16)], t[uint16(x>>32)], t[uint16(x>>48)]
		p4, p5, p6, p7 := t[uint16(y)], t[uint16(y>>16)], t[uint16(y>>32)], t[uint16(y>>48)]
		bad |= p0 | p1 | p2 | p3 | p4 | p5 | p6 | p7
		binary.LittleEndian.PutUint64(dst, uint64(p0)|uint64(p1)<<8|uint64(p2)<<16|uint64(p3)<<24|
			uint64(p4)<<32|uint64(p5)<<40|uint64(p6)<<48|uint64(p7)<<56)
		src, dst = src[16:], dst[8:]
	}
	for len(src) >= 2 && len(dst) >= 1 {
		p := t[uint16(src[0])|uint16(src[1])<<8]
		bad |= p
		dst[0] = byte(p)
		src, dst = src[2:], dst[1:]
	}
	return bad <= 0xff && len(src) == 0
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// AppendByteaHex appends raw in bytea's hex input form, `\x` and two hex digits a byte, which the
// server reads whatever its bytea_output.
func AppendByteaHex(dst, raw []byte) []byte {
	return hex.AppendEncode(append(dst, '\\', 'x'), raw)
}
