package seal

import (
	"encoding/hex"
	"errors"
)

var errByteaText = errors.New("invalid bytea text")

// decodeByteaText appends the bytes of a bytea in text output format: hex (`\x…`, the default)
// or escape (bytea_output = escape: `\\`, `\ooo`, other bytes as themselves).
func decodeByteaText(dst, s []byte) ([]byte, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		h := s[2:]
		if len(h)%2 != 0 {
			return dst, errByteaText
		}
		n := len(dst)
		dst = append(dst, make([]byte, len(h)/2)...)
		if _, err := hex.Decode(dst[n:], h); err != nil {
			return dst[:n], errByteaText
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
			return dst, errByteaText
		}
	}
	return dst, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
