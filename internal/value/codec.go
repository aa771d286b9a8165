package value

// Format codes of the PostgreSQL wire protocol.
const (
	FormatText   int16 = 0
	FormatBinary int16 = 1
)

// codec converts one type between the wire formats and its canonical form (the bytes after the
// tag). nil funcs mean "the canonical form IS the binary wire form" (decBin) or "canonical bytes
// are already the equality form" (eq).
type codec struct {
	encText func(dst, in []byte, s *Session) ([]byte, error)
	encBin  func(dst, in []byte) ([]byte, error)
	check   func(c []byte) error // validates a canonical form read back from a ciphertext
	decText func(dst, c []byte, s *Session) ([]byte, error)
	decBin  func(dst, c []byte) ([]byte, error)
	eq      func(dst, c []byte) ([]byte, error)
}

func codecFor(t Type) *codec {
	switch t {
	case Text, Varchar:
		return &textCodec
	case Int2:
		return &int2Codec
	case Int4:
		return &int4Codec
	case Int8:
		return &int8Codec
	case Float4:
		return &float4Codec
	case Float8:
		return &float8Codec
	case Numeric:
		return &numericCodec
	case Bool:
		return &boolCodec
	case Date:
		return &dateCodec
	case Timestamp:
		return &timestampCodec
	case Timestamptz:
		return &timestamptzCodec
	case UUID:
		return &uuidCodec
	case JSON:
		return &jsonCodec
	case JSONB:
		return &jsonbCodec
	case Bytea:
		return &byteaCodec
	}
	return nil
}

func badType() error {
	return &Error{Code: CodeFeatureNotSupported, Message: "unsupported column type"}
}

func badFormat() error {
	return &Error{Code: CodeInvalidParameterValue, Message: "unsupported format code"}
}

// Encode converts a client wire value of type t (format 0 text, 1 binary) into the plaintext that
// gets encrypted: the tag byte(t) followed by the canonical form, which is PostgreSQL's binary
// send format of the value as PostgreSQL itself would store it (numeric stripped of padding
// zeros, jsonb normalised, bool 0/1). It appends to dst and returns the extended slice; on error
// dst is returned unchanged in length. Errors are *Error and never contain the value.
//
// NULL is the caller's business: a NULL parameter has no bytes to convert.
func Encode(dst []byte, t Type, format int16, wire []byte, s *Session) ([]byte, error) {
	c := codecFor(t)
	if c == nil {
		return dst, badType()
	}
	n := len(dst)
	out := append(dst, byte(t))
	var err error
	switch format {
	case FormatText:
		out, err = c.encText(out, wire, s)
	case FormatBinary:
		out, err = c.encBin(out, wire)
	default:
		err = badFormat()
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// Decode converts a decrypted plaintext (tag + canonical form) into the wire format the client
// asked for, byte-identical to what PostgreSQL 15 sends for a plaintext column of type t under
// session s. A tag that does not match t, or a canonical form that is not valid for t, is an
// XX001 error: the value must not reach the client as if it were data.
func Decode(dst []byte, t Type, plain []byte, format int16, s *Session) ([]byte, error) {
	c, body, err := canonical(t, plain)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	var out []byte
	switch format {
	case FormatText:
		out, err = c.decText(dst, body, s)
	case FormatBinary:
		if c.decBin == nil {
			return append(dst, body...), nil
		}
		out, err = c.decBin(dst, body)
	default:
		err = badFormat()
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// EqualityForm appends the bytes used to compute equality terms: two plaintexts of type t get
// identical bytes exactly when PostgreSQL's `=` says they are equal (numeric 1.0 = 1.00, float
// -0 = 0 and NaN = NaN, jsonb {"a":1.0} = {"a":1}, text bytewise as under a deterministic
// collation). The type tag is included, so equal bytes never come from different types.
func EqualityForm(dst []byte, t Type, plain []byte) ([]byte, error) {
	if !t.SupportsEquality() {
		return dst, &Error{Code: CodeFeatureNotSupported, Message: "type " + t.String() + " has no equality operator"}
	}
	c, body, err := canonical(t, plain)
	if err != nil {
		return dst, err
	}
	dst = append(dst, byte(t))
	if c.eq == nil {
		return append(dst, body...), nil
	}
	n := len(dst)
	out, err := c.eq(dst, body)
	if err != nil {
		return dst[:n-1], err
	}
	return out, nil
}

// canonical checks the tag and the canonical form of a plaintext and returns its body.
func canonical(t Type, plain []byte) (*codec, []byte, error) {
	c := codecFor(t)
	if c == nil {
		return nil, nil, badType()
	}
	if len(plain) == 0 || plain[0] != byte(t) {
		return nil, nil, &Error{Code: CodeDataCorrupted, Message: "decrypted value has the wrong type tag"}
	}
	body := plain[1:]
	if err := c.check(body); err != nil {
		return nil, nil, err
	}
	return c, body, nil
}
