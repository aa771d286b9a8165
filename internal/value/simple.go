package value

import (
	"bytes"
	"encoding/hex"
	"unicode/utf8"
)

// This file holds the types whose text form is (nearly) their bytes: text, varchar, bool, uuid,
// bytea.

var textCodec = codec{
	encText: encodeUTF8,
	encBin:  func(dst, in []byte) ([]byte, error) { return encodeUTF8(dst, in, nil) },
	check: func(c []byte) error {
		if !validServerText(c) {
			return corrupt(Text)
		}
		return nil
	},
	decText: appendVerbatim,
}

// validServerText mirrors pg_verify_mbstr for a UTF8 database: valid UTF-8 and no NUL byte.
func validServerText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

func encodeUTF8(dst, in []byte, _ *Session) ([]byte, error) {
	if !validServerText(in) {
		return dst, encodingError()
	}
	return append(dst, in...), nil
}

var boolCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) {
		v, ok := parseBool(trimSpace(in))
		if !ok {
			return dst, syntaxError(Bool)
		}
		return append(dst, v), nil
	},
	encBin: func(dst, in []byte) ([]byte, error) {
		if len(in) != 1 {
			return dst, binaryError(Bool)
		}
		// boolrecv: any non-zero byte is true.
		if in[0] != 0 {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	},
	check: func(c []byte) error {
		if len(c) != 1 || c[0] > 1 {
			return corrupt(Bool)
		}
		return nil
	},
	decText: func(dst, c []byte, _ *Session) ([]byte, error) {
		if c[0] == 1 {
			return append(dst, 't'), nil
		}
		return append(dst, 'f'), nil
	},
}

// parseBool mirrors parse_bool_with_len: any non-empty prefix of true/false/yes/no, on/off with
// at least two letters, 1 and 0, case-insensitively.
func parseBool(b []byte) (byte, bool) {
	if len(b) == 0 {
		return 0, false
	}
	l := bytes.ToLower(b)
	prefixOf := func(word string, min int) bool {
		return len(l) >= min && len(l) <= len(word) && string(l) == word[:len(l)]
	}
	switch {
	case prefixOf("true", 1), prefixOf("yes", 1), prefixOf("on", 2), string(l) == "1":
		return 1, true
	case prefixOf("false", 1), prefixOf("no", 1), prefixOf("off", 2), string(l) == "0":
		return 0, true
	}
	return 0, false
}

// isSpace is C isspace in the C locale, which PostgreSQL's input functions use.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

var uuidCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) { return parseUUID(dst, in) },
	encBin: func(dst, in []byte) ([]byte, error) {
		if len(in) != 16 {
			return dst, binaryError(UUID)
		}
		return append(dst, in...), nil
	},
	check: fixedLen(UUID, 16),
	decText: func(dst, c []byte, _ *Session) ([]byte, error) {
		var buf [36]byte
		hex.Encode(buf[0:8], c[0:4])
		buf[8] = '-'
		hex.Encode(buf[9:13], c[4:6])
		buf[13] = '-'
		hex.Encode(buf[14:18], c[6:8])
		buf[18] = '-'
		hex.Encode(buf[19:23], c[8:10])
		buf[23] = '-'
		hex.Encode(buf[24:36], c[10:16])
		return append(dst, buf[:]...), nil
	},
}

// parseUUID mirrors string_to_uuid: optional braces, 32 hex digits, and a hyphen allowed after any
// group of four digits (except at the end). No surrounding whitespace.
func parseUUID(dst, in []byte) ([]byte, error) {
	src := in
	braces := len(src) > 0 && src[0] == '{'
	if braces {
		src = src[1:]
	}
	var out [16]byte
	for i := 0; i < 16; i++ {
		if len(src) < 2 {
			return dst, syntaxError(UUID)
		}
		hi, ok1 := unhex(src[0])
		lo, ok2 := unhex(src[1])
		if !ok1 || !ok2 {
			return dst, syntaxError(UUID)
		}
		out[i] = hi<<4 | lo
		src = src[2:]
		if len(src) > 0 && src[0] == '-' && i%2 == 1 && i < 15 {
			src = src[1:]
		}
	}
	if braces {
		if len(src) == 0 || src[0] != '}' {
			return dst, syntaxError(UUID)
		}
		src = src[1:]
	}
	if len(src) != 0 {
		return dst, syntaxError(UUID)
	}
	return append(dst, out[:]...), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func fixedLen(t Type, n int) func([]byte) error {
	return func(c []byte) error {
		if len(c) != n {
			return corrupt(t)
		}
		return nil
	}
}

var byteaCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) { return parseBytea(dst, in) },
	encBin:  func(dst, in []byte) ([]byte, error) { return append(dst, in...), nil },
	check:   func([]byte) error { return nil },
	decText: formatBytea,
}

// parseBytea mirrors byteain: "\x" hex (whitespace allowed between digit pairs) or the escape
// format (\\ and \ooo octal escapes, other bytes literal).
func parseBytea(dst, in []byte) ([]byte, error) {
	if len(in) >= 2 && in[0] == '\\' && in[1] == 'x' {
		return parseHexBytea(dst, in[2:])
	}
	n := len(dst)
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		switch {
		case i+1 < len(in) && in[i+1] == '\\':
			dst = append(dst, '\\')
			i++
		case i+3 < len(in) && isOctal(in[i+1]) && in[i+1] <= '3' && isOctal(in[i+2]) && isOctal(in[i+3]):
			dst = append(dst, (in[i+1]-'0')<<6|(in[i+2]-'0')<<3|(in[i+3]-'0'))
			i += 3
		default:
			return dst[:n], syntaxError(Bytea)
		}
	}
	return dst, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func parseHexBytea(dst, in []byte) ([]byte, error) {
	n := len(dst)
	for i := 0; i < len(in); {
		c := in[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		hi, ok := unhex(c)
		if !ok {
			return dst[:n], &Error{Code: CodeInvalidParameterValue, Message: "invalid hexadecimal digit"}
		}
		if i+1 >= len(in) {
			return dst[:n], &Error{Code: CodeInvalidParameterValue, Message: "invalid hexadecimal data: odd number of digits"}
		}
		lo, ok := unhex(in[i+1])
		if !ok {
			return dst[:n], &Error{Code: CodeInvalidParameterValue, Message: "invalid hexadecimal digit"}
		}
		dst = append(dst, hi<<4|lo)
		i += 2
	}
	return dst, nil
}

// formatBytea mirrors byteaout for bytea_output hex (default) and escape.
func formatBytea(dst, c []byte, s *Session) ([]byte, error) {
	if s == nil || !s.ByteaEscape {
		dst = append(dst, '\\', 'x')
		return hex.AppendEncode(dst, c), nil
	}
	for _, b := range c {
		switch {
		case b == '\\':
			dst = append(dst, '\\', '\\')
		case b < 0x20 || b > 0x7e:
			dst = append(dst, '\\', '0'+b>>6, '0'+(b>>3)&7, '0'+b&7)
		default:
			dst = append(dst, b)
		}
	}
	return dst, nil
}

// appendVerbatim is the text output of types whose canonical form is their text.
func appendVerbatim(dst, c []byte, _ *Session) ([]byte, error) { return append(dst, c...), nil }
