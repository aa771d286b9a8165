package value

import "sort"

// jsonb output: member order and printing as jsonb_out produces them.

// uniqueSortedKeys orders object members as jsonb does (shorter keys first, then bytewise) and
// keeps the last value of a duplicated key.
func uniqueSortedKeys(kv []jsonValue) []jsonValue {
	n := len(kv) / 2
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := kv[2*idx[a]].str, kv[2*idx[b]].str
		if len(ka) != len(kb) {
			return len(ka) < len(kb)
		}
		return string(ka) < string(kb)
	})
	out := make([]jsonValue, 0, len(kv))
	for i, j := range idx {
		if i+1 < n && string(kv[2*idx[i+1]].str) == string(kv[2*j].str) {
			continue // a later duplicate wins (stable sort keeps input order among equals)
		}
		out = append(out, kv[2*j], kv[2*j+1])
	}
	return out
}

// appendTo prints v as jsonb_out does. With eq set, numbers lose trailing fractional zeros so
// that values jsonb's = considers equal print identically.
func (v *jsonValue) appendTo(dst []byte, eq bool) []byte {
	switch v.kind {
	case jsonNull:
		return append(dst, "null"...)
	case jsonTrue:
		return append(dst, "true"...)
	case jsonFalse:
		return append(dst, "false"...)
	case jsonNumber:
		if eq {
			return append(dst, trimFractionZeros(v.str)...)
		}
		return append(dst, v.str...)
	case jsonString:
		return appendJSONString(dst, v.str)
	case jsonArray:
		dst = append(dst, '[')
		for i := range v.elems {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = v.elems[i].appendTo(dst, eq)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for i := 0; i < len(v.elems); i += 2 {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendJSONString(dst, v.elems[i].str)
		dst = append(dst, ": "...)
		dst = v.elems[i+1].appendTo(dst, eq)
	}
	return append(dst, '}')
}

func trimFractionZeros(s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			j := len(s)
			for j > i+1 && s[j-1] == '0' {
				j--
			}
			if j == i+1 {
				j = i
			}
			return s[:j]
		}
	}
	return s
}

// appendJSONString mirrors escape_json.
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
