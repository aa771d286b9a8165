package seal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// encryptBind returns the Bind to forward, with Encrypt/Term/TermArray parameters turned into
// binary bytea (bytea[]) values; nil when no parameter changes (the Bind is forwarded as is).
func (ss *Session) encryptBind(m *pgproto3.Bind, sp *stmtPlan, ks keysetRef, vs *value.Session) (*pgproto3.Bind, *sqlstate.Error) {
	changes := false
	for i, v := range m.Parameters {
		if v != nil && sp.plan.Param(i+1).Kind != rewrite.ParamPass {
			changes = true
			break
		}
	}
	if !changes {
		return nil, nil
	}
	if len(m.ParameterFormatCodes) > 1 && len(m.ParameterFormatCodes) != len(m.Parameters) {
		return nil, &sqlstate.Error{Code: sqlstate.ProtocolViolation, Message: fmt.Sprintf("bind message has %d parameter formats but %d parameters", len(m.ParameterFormatCodes), len(m.Parameters))}
	}
	start := time.Now()
	out := &pgproto3.Bind{DestinationPortal: m.DestinationPortal, PreparedStatement: m.PreparedStatement,
		ResultFormatCodes: m.ResultFormatCodes, Parameters: make([][]byte, len(m.Parameters)),
		ParameterFormatCodes: make([]int16, len(m.Parameters))}
	n := 0
	for i, v := range m.Parameters {
		f := paramFormat(m, i+1)
		p := sp.plan.Param(i + 1)
		if p.Kind == rewrite.ParamPass || v == nil {
			out.Parameters[i], out.ParameterFormatCodes[i] = v, f
			continue
		}
		col, err := columnOf(p.Column, sp.ent)
		if err != nil {
			return nil, valueRefusal(err)
		}
		var declared value.Type // the client's type when it differs from the statement's (paramTypes)
		if i < len(sp.types) && sp.types[i] != col.Type {
			declared = sp.types[i]
		}
		if p.Kind == rewrite.ParamMatch {
			toks, err := matchParam(sp.plan, i+1, col, ks, f, v, vs)
			if err != nil {
				return nil, paramRefusal(i+1, err)
			}
			out.Parameters[i], out.ParameterFormatCodes[i] = toks, 0
			continue
		}
		enc, count, err := encryptParam(p, declared, col, ks, f, v, vs)
		if err != nil {
			return nil, paramRefusal(i+1, err)
		}
		out.Parameters[i], out.ParameterFormatCodes[i] = enc, 1
		n += count
	}
	ss.sl.encSeconds.Observe(time.Since(start).Seconds())
	ks.enc.Add(float64(n))
	return out, nil
}

func paramRefusal(n int, err error) *sqlstate.Error {
	pe := valueRefusal(err)
	if pe.Code != sqlstate.InternalError {
		pe = &sqlstate.Error{Code: pe.Code, Message: pe.Message, Detail: fmt.Sprintf("parameter $%d", n)}
	}
	return pe
}

// encryptParam converts one client value (format f) to the binary bytea it becomes.
// A parameter the statement cast to another type of the column's family has that type (p.Cast).
func encryptParam(p rewrite.Param, declared value.Type, col *column.Column, ks keysetRef, f int16, v []byte, vs *value.Session) ([]byte, int, error) {
	if p.Kind == rewrite.ParamTermArray {
		// A cast to varchar[] for a text column (rewrite allows only the text family): the
		// elements carry varchar's OID and text's bytes. An array the client declared of
		// another element type (paramTypes) has that type's elements, each compared as a
		// scalar parameter declared so would be.
		elem, err := castType(p.Cast, col.Type)
		if err != nil {
			return nil, 0, err
		}
		if declared.Valid() {
			elem = declared
		}
		return termArray(col, sealAsArray(p.Ord), elem, declared.Valid(), ks, f, v, vs)
	}
	out, err := sealCast(ks.ks, col, sealAsParam(p.Kind), valueCast{p.Cast, p.CastLen, declared, p.InList}, f, v, vs)
	if err != nil {
		return nil, 0, err
	}
	return out, 1, nil
}

// termArray turns a client array of plaintext values (text `{…}` or binary) into a binary
// bytea[] of equality terms (as asTerm) or order terms (asOrd: rewrite.Param.Ord), for
// `col = ANY($1)`. NULL elements stay NULL (they match nothing).
func termArray(col *column.Column, as sealAs, elem value.Type, declared bool, ks keysetRef, f int16, v []byte, vs *value.Session) ([]byte, int, error) {
	var elems [][]byte
	var err error
	ef := f
	if f == 1 {
		elems, err = binaryArray(v, elem.OID())
	} else {
		elems, err = textArray(string(v), col.Type)
	}
	if err != nil {
		return nil, 0, err
	}
	terms := make([][]byte, len(elems))
	for i, e := range elems {
		if e == nil {
			continue
		}
		if declared {
			if terms[i], err = sealCast(ks.ks, col, as, valueCast{declared: elem}, ef, e, vs); err != nil {
				return nil, 0, err
			}
			continue
		}
		plain, err := value.Encode(nil, col.Type, ef, e, vs)
		if err != nil {
			return nil, 0, err
		}
		if terms[i], err = elementTerm(ks.ks, col, as, plain); err != nil {
			return nil, 0, err
		}
	}
	return encodeByteaArray(terms), len(terms), nil
}

// elementTerm is the term of one array element already in the column's type: the equality
// term, or the order term (sealPlain's, as for a scalar parameter).
func elementTerm(ks *keyring.Keyset, col *column.Column, as sealAs, plain []byte) ([]byte, error) {
	if as == asOrd {
		return sealPlain(ks, col, asOrd, plain)
	}
	t, err := col.Term(ks, plain)
	if err != nil {
		return nil, keyError(err)
	}
	return t, nil
}

var errArray = &value.Error{Code: sqlstate.InvalidTextRepresentation, Message: "malformed array literal"}

// textArray parses a one-dimensional array literal (array_in): elements separated by commas,
// double-quoted with backslash escapes, or bare (trimmed; NULL is a null element).
func textArray(s string, t value.Type) ([][]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		if strings.HasPrefix(s, "[") {
			return nil, &value.Error{Code: sqlstate.FeatureNotSupported, Message: "array bounds are not supported for encrypted columns"}
		}
		return nil, errArray
	}
	body := s[1 : len(s)-1]
	var out [][]byte
	if strings.TrimSpace(body) == "" {
		return out, nil
	}
	for i := 0; ; {
		for i < len(body) && isArraySpace(body[i]) {
			i++
		}
		elem, quoted, next, err := arrayElem(body, i)
		if err != nil {
			return nil, err
		}
		i = next
		switch {
		case !quoted && strings.EqualFold(string(elem), "NULL"):
			out = append(out, nil)
		case !quoted && len(elem) == 0:
			return nil, errArray
		default:
			if elem == nil {
				elem = []byte{}
			}
			out = append(out, elem)
		}
		for i < len(body) && isArraySpace(body[i]) {
			i++
		}
		if i >= len(body) {
			return out, nil
		}
		if body[i] != ',' {
			return nil, errArray
		}
		i++
	}
}

// arrayElem reads the element of a one-dimensional array literal's body starting at i (after
// any white space): quoted (backslash escapes, the quotes removed) or not (escapes applied,
// trailing white space removed). It returns the index just after it.
func arrayElem(body string, i int) (elem []byte, quoted bool, next int, err error) {
	if i < len(body) && body[i] == '"' {
		i++
		for i < len(body) && body[i] != '"' {
			if body[i] == '\\' && i+1 < len(body) {
				i++
			}
			elem = append(elem, body[i])
			i++
		}
		if i >= len(body) {
			return nil, true, i, errArray
		}
		return elem, true, i + 1, nil
	}
	for i < len(body) && body[i] != ',' {
		if body[i] == '{' || body[i] == '}' || body[i] == '"' {
			return nil, false, i, &value.Error{Code: sqlstate.FeatureNotSupported, Message: "only one-dimensional arrays are supported for encrypted columns"}
		}
		if body[i] == '\\' && i+1 < len(body) {
			i++
		}
		elem = append(elem, body[i])
		i++
	}
	return []byte(strings.TrimRight(string(elem), " \t\r\n\v\f")), false, i, nil
}

func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// binaryArray parses array_send output of one dimension whose elements have type elemOID (text and
// varchar elements are taken for each other: the client may have declared either's array).
func binaryArray(b []byte, elemOID uint32) ([][]byte, error) {
	bad := &value.Error{Code: sqlstate.InvalidBinaryRepresentation, Message: "incorrect binary data format in array"}
	if len(b) < 12 {
		return nil, bad
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	oid := binary.BigEndian.Uint32(b[8:])
	if ndim == 0 {
		return nil, nil
	}
	if ndim != 1 {
		return nil, &value.Error{Code: sqlstate.FeatureNotSupported, Message: "only one-dimensional arrays are supported for encrypted columns"}
	}
	if oid != elemOID && !sameStringOID(oid, elemOID) {
		return nil, &value.Error{Code: sqlstate.DatatypeMismatch, Message: "array element type does not match the encrypted column"}
	}
	if len(b) < 20 {
		return nil, bad
	}
	n := int32(binary.BigEndian.Uint32(b[12:]))
	b = b[20:]
	if n < 0 || int(n) > len(b)/4 {
		return nil, bad
	}
	out := make([][]byte, 0, n)
	for i := int32(0); i < n; i++ {
		if len(b) < 4 {
			return nil, bad
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l == -1 {
			out = append(out, nil)
			continue
		}
		if l < 0 || int(l) > len(b) {
			return nil, bad
		}
		out = append(out, b[:l:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, bad
	}
	return out, nil
}

// encodeByteaArray writes a one-dimensional bytea[] in binary format (array_send).
func encodeByteaArray(elems [][]byte) []byte {
	if len(elems) == 0 {
		return []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, oidBytea}
	}
	size := 20
	hasNull := uint32(0)
	for _, e := range elems {
		size += 4 + len(e)
		if e == nil {
			hasNull = 1
		}
	}
	out := make([]byte, 0, size)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = binary.BigEndian.AppendUint32(out, hasNull)
	out = binary.BigEndian.AppendUint32(out, oidBytea)
	out = binary.BigEndian.AppendUint32(out, uint32(len(elems)))
	out = binary.BigEndian.AppendUint32(out, 1)
	for _, e := range elems {
		if e == nil {
			out = binary.BigEndian.AppendUint32(out, 0xFFFFFFFF)
			continue
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

// keyError maps keyring failures while sealing to the client's error (no key material).
func keyError(err error) error {
	var ve *value.Error
	if errors.As(err, &ve) {
		return err
	}
	return &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "the selected keyset cannot encrypt values now"}
}
