package column

import (
	"encoding/hex"
	"errors"
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
		dst = append(dst, make([]byte, len(h)/2)...)
		if _, err := hex.Decode(dst[n:], h); err != nil {
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

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// AppendByteaHex appends raw in bytea's hex input form, `\x` and two hex digits a byte, which the
// server reads whatever its bytea_output.
func AppendByteaHex(dst, raw []byte) []byte {
	return hex.AppendEncode(append(dst, '\\', 'x'), raw)
}
