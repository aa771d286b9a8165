package value

import (
	"unicode/utf16"
	"unicode/utf8"
)

// json keeps the client's text exactly (PostgreSQL's json does); it is only validated. jsonb is
// stored as jsonb_out prints it: keys sorted by (length, bytes), the last of duplicate keys kept,
// numbers as numeric_out prints them, strings re-escaped, ", " and ": " separators. That text is
// the canonical form, and the binary format is a version byte 1 followed by it.

var jsonCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) { return encodeJSON(dst, in) },
	encBin:  func(dst, in []byte) ([]byte, error) { return encodeJSON(dst, in) },
	check: func(c []byte) error {
		if _, err := parseJSON(JSON, c); err != nil || !validServerText(c) {
			return corrupt(JSON)
		}
		return nil
	},
	decText: appendVerbatim,
}

func encodeJSON(dst, in []byte) ([]byte, error) {
	if !validServerText(in) {
		return dst, encodingError()
	}
	if _, err := parseJSON(JSON, in); err != nil {
		return dst, err
	}
	return append(dst, in...), nil
}

var jsonbCodec = codec{
	encText: func(dst, in []byte, _ *Session) ([]byte, error) { return encodeJSONB(dst, in) },
	encBin: func(dst, in []byte) ([]byte, error) {
		if len(in) == 0 || in[0] != 1 {
			return dst, &Error{Code: CodeInvalidBinaryRepresentation, Message: "unsupported jsonb version number"}
		}
		return encodeJSONB(dst, in[1:])
	},
	check: func(c []byte) error {
		v, err := parseJSON(JSONB, c)
		if err != nil || !validServerText(c) || string(v.appendTo(nil, false)) != string(c) {
			return corrupt(JSONB)
		}
		return nil
	},
	decText: appendVerbatim,
	decBin:  func(dst, c []byte) ([]byte, error) { return append(append(dst, 1), c...), nil },
	eq: func(dst, c []byte) ([]byte, error) {
		v, err := parseJSON(JSONB, c)
		if err != nil {
			return dst, corrupt(JSONB)
		}
		return v.appendTo(dst, true), nil
	},
}

func encodeJSONB(dst, in []byte) ([]byte, error) {
	if !validServerText(in) {
		return dst, encodingError()
	}
	v, err := parseJSON(JSONB, in)
	if err != nil {
		return dst, err
	}
	return v.appendTo(dst, false), nil
}

// jsonKind is the kind of a parsed JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonTrue
	jsonFalse
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a parsed JSON value: str is the numeric_out text of a number or the decoded
// string; elems holds array elements, or alternating keys and values of an object.
type jsonValue struct {
	kind  jsonKind
	str   []byte
	elems []jsonValue
}

// maxJSONDepth bounds nesting, standing in for PostgreSQL's stack depth check.
const maxJSONDepth = 6400

type jsonParser struct {
	t     Type
	in    []byte
	pos   int
	depth int
}

// parseJSON parses RFC 8259 JSON as PostgreSQL's json lexer does. For jsonb it also rejects
// \u0000 (22P05) and numbers numeric cannot hold.
func parseJSON(t Type, in []byte) (jsonValue, error) {
	p := jsonParser{t: t, in: in}
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return v, err
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return v, p.syntax()
	}
	return v, nil
}

func (p *jsonParser) syntax() error {
	return &Error{Code: CodeInvalidTextRepresentation, Message: "invalid input syntax for type json"}
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (jsonValue, error) {
	if p.pos >= len(p.in) {
		return jsonValue{}, p.syntax()
	}
	switch c := p.in[p.pos]; {
	case c == '{' || c == '[':
		p.depth++
		if p.depth > maxJSONDepth {
			return jsonValue{}, &Error{Code: CodeStatementTooComplex, Message: "stack depth limit exceeded"}
		}
		defer func() { p.depth-- }()
		if c == '{' {
			return p.object()
		}
		return p.array()
	case c == '"':
		s, err := p.str()
		return jsonValue{kind: jsonString, str: s}, err
	case c == '-' || isDigit(c):
		return p.number()
	}
	for _, lit := range [...]struct {
		word string
		kind jsonKind
	}{{"true", jsonTrue}, {"false", jsonFalse}, {"null", jsonNull}} {
		if len(p.in)-p.pos >= len(lit.word) && string(p.in[p.pos:p.pos+len(lit.word)]) == lit.word {
			p.pos += len(lit.word)
			if p.pos < len(p.in) && isJSONWordChar(p.in[p.pos]) {
				return jsonValue{}, p.syntax()
			}
			return jsonValue{kind: lit.kind}, nil
		}
	}
	return jsonValue{}, p.syntax()
}

func isJSONWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c >= 0x80
}

func (p *jsonParser) array() (jsonValue, error) {
	v := jsonValue{kind: jsonArray}
	p.pos++ // [
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		e, err := p.value()
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, e)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return v, p.syntax()
		}
		p.pos++
		switch p.in[p.pos-1] {
		case ',':
		case ']':
			return v, nil
		default:
			return v, p.syntax()
		}
	}
}

func (p *jsonParser) object() (jsonValue, error) {
	v := jsonValue{kind: jsonObject}
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return v, p.syntax()
		}
		k, err := p.str()
		if err != nil {
			return v, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return v, p.syntax()
		}
		p.pos++
		p.skipSpace()
		e, err := p.value()
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, jsonValue{kind: jsonString, str: k}, e)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return v, p.syntax()
		}
		p.pos++
		switch p.in[p.pos-1] {
		case ',':
		case '}':
			if p.t == JSONB {
				v.elems = uniqueSortedKeys(v.elems)
			}
			return v, nil
		default:
			return v, p.syntax()
		}
	}
}

// number scans the JSON number grammar and, for jsonb, converts it as numeric_in would.
func (p *jsonParser) number() (jsonValue, error) {
	start := p.pos
	if p.in[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		s := p.pos
		for p.pos < len(p.in) && isDigit(p.in[p.pos]) {
			p.pos++
		}
		return p.pos - s
	}
	if p.pos < len(p.in) && p.in[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return jsonValue{}, p.syntax()
	}
	if p.pos < len(p.in) && p.in[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return jsonValue{}, p.syntax()
		}
	}
	if p.pos < len(p.in) && (p.in[p.pos] == 'e' || p.in[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.in) && (p.in[p.pos] == '+' || p.in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return jsonValue{}, p.syntax()
		}
	}
	if p.pos < len(p.in) && isJSONWordChar(p.in[p.pos]) {
		return jsonValue{}, p.syntax()
	}
	tok := p.in[start:p.pos]
	if p.t != JSONB {
		return jsonValue{kind: jsonNumber, str: tok}, nil
	}
	bin, err := parseNumeric(nil, tok)
	if err != nil {
		return jsonValue{}, err
	}
	return jsonValue{kind: jsonNumber, str: formatNumeric(nil, bin)}, nil
}

// str scans a string literal and returns its decoded bytes.
func (p *jsonParser) str() ([]byte, error) {
	p.pos++ // opening quote
	var out []byte
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			return out, nil
		case c < 0x20:
			return nil, p.syntax()
		case c == '\\':
			var err error
			if out, err = p.escape(out); err != nil {
				return nil, err
			}
		default:
			out = append(out, c)
			p.pos++
		}
	}
	return nil, p.syntax()
}

func (p *jsonParser) escape(out []byte) ([]byte, error) {
	if p.pos+1 >= len(p.in) {
		return nil, p.syntax()
	}
	c := p.in[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(out, c), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
	default:
		return nil, p.syntax()
	}
	r, ok := p.hex4()
	if !ok {
		return nil, p.syntax()
	}
	if p.t == JSON {
		// json only checks the escape's shape and keeps the text; it does not decode it.
		return out, nil
	}
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00: // high surrogate: a low one must follow
		if p.pos+1 >= len(p.in) || p.in[p.pos] != '\\' || p.in[p.pos+1] != 'u' {
			return nil, p.syntax()
		}
		p.pos += 2
		lo, ok := p.hex4()
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return nil, p.syntax()
		}
		r = utf16.DecodeRune(r, lo)
	case utf16.IsSurrogate(r):
		return nil, p.syntax()
	case r == 0 && p.t == JSONB:
		return nil, &Error{Code: CodeUntranslatableCharacter, Message: "unsupported Unicode escape sequence"}
	}
	return utf8.AppendRune(out, r), nil
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.in) {
		return 0, false
	}
	var r rune
	for _, c := range p.in[p.pos : p.pos+4] {
		h, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	p.pos += 4
	return r, true
}
