package seal

// Field encodings of COPY text and CSV data, and bytea text (copy.go describes the decisions).

import (
	"bytes"
	"fmt"
)

// copyTextDecode appends the value of a raw text-format field (PostgreSQL's
// CopyReadAttributesText): \b \f \n \r \t \v, octal \ooo (1-3 digits), hex \xh[h], any other
// escaped byte literally; a lone trailing backslash is dropped.
func copyTextDecode(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i++; i >= len(raw) {
			break
		}
		c = raw[i]
		switch {
		case c >= '0' && c <= '7':
			c -= '0'
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				c = c<<3 + (raw[i] - '0') // wraps like PostgreSQL's "val & 0377"
			}
		case c == 'x':
			if i+1 < len(raw) && copyIsHex(raw[i+1]) {
				i++
				c = copyUnhex(raw[i])
				if i+1 < len(raw) && copyIsHex(raw[i+1]) {
					i++
					c = c<<4 | copyUnhex(raw[i])
				}
			}
		default:
			if e := bytes.IndexByte([]byte("btnvfr"), c); e >= 0 {
				c = "\b\t\n\v\f\r"[e]
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func copyIsHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func copyUnhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// copyTextEncode appends v in text format exactly as PostgreSQL's CopyAttributeOutText writes it.
func copyTextEncode(dst, v []byte, delim byte) []byte {
	for _, c := range v {
		if c < 0x20 {
			if e := bytes.IndexByte([]byte("\b\t\n\v\f\r"), c); e >= 0 {
				dst = append(dst, '\\', "btnvfr"[e])
			} else if c == delim {
				dst = append(dst, '\\', c)
			} else {
				dst = append(dst, c)
			}
			continue
		}
		if c == '\\' || c == delim {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// copyCSVDecode appends the value of a raw CSV field (PostgreSQL's CopyReadAttributesCSV) and
// reports whether it had quotes (a quoted field is never NULL).
func copyCSVDecode(dst, raw []byte, f copyFormat) ([]byte, bool, error) {
	inQuote, saw := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case !inQuote && c == f.quote:
			inQuote, saw = true, true
		case !inQuote:
			dst = append(dst, c)
		case c == f.escape && i+1 < len(raw) && (raw[i+1] == f.escape || raw[i+1] == f.quote):
			i++
			dst = append(dst, raw[i])
		case c == f.quote:
			inQuote = false
		default:
			dst = append(dst, c)
		}
	}
	if inQuote {
		return dst, saw, fmt.Errorf("unterminated CSV quoted field")
	}
	return dst, saw, nil
}

// copyCSVEncode appends v in CSV exactly as PostgreSQL's CopyAttributeOutCSV writes it (without
// FORCE_QUOTE): quoted when it holds the delimiter, the quote, CR or LF, equals the NULL string,
// or is `\.` alone on its line.
func copyCSVEncode(dst, v []byte, f copyFormat, single bool) []byte {
	quote := string(v) == f.null || (single && string(v) == `\.`)
	for i := 0; i < len(v) && !quote; i++ {
		c := v[i]
		quote = c == f.delim || c == f.quote || c == '\n' || c == '\r'
	}
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, f.quote)
	for _, c := range v {
		if c == f.quote || c == f.escape {
			dst = append(dst, f.escape)
		}
		dst = append(dst, c)
	}
	return append(dst, f.quote)
}

// carry keeps rest, the unconsumed tail of a feed (part of buf or of the fed data), at the start
// of buf for the next feed; a tail longer than maxRow is a row too large (line is 0-based).
func carry(buf, rest []byte, maxRow, line int) ([]byte, error) {
	if len(rest) > maxRow {
		return buf, copyErrorf(copyCodeTooLarge, "COPY data line %d is longer than %d bytes", line+1, maxRow)
	}
	if len(buf) > 0 {
		return buf[:copy(buf, rest)], nil
	}
	return append(buf, rest...), nil
}
