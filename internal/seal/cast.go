package seal

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// castType is the type of the value a client wrote for an encrypted column: the type of the cast
// around it when rewrite removed one of another type of the column's family (Edit.Cast,
// Param.Cast: `$1::varchar` for a text column, `'5'::int8` for an int4 one), else the column's.
func castType(cast string, col value.Type) (value.Type, error) {
	if cast == "" {
		return col, nil
	}
	return value.ParseType(cast)
}

// paramCastType is castType for a parameter.
func paramCastType(p rewrite.Param, col value.Type) (value.Type, error) {
	return castType(p.Cast, col)
}

// declaredType accepts a parameter type the client declared in Parse other than ct, the type the
// statement gives the parameter (its cast's, else the column's), when PostgreSQL's conversion from
// it is one pgseal follows: assigned, value.Assignable (JDBC declares int8 for setLong on an int4
// column, psycopg 3 float8 for a Python float into a float4 column); compared,
// value.ComparableAs (the wire must give PostgreSQL's cross-type operator's answer, converting
// the value or placing it as compareAcross and datetimeBeyond do; not where PostgreSQL converts
// the column's side, as for timestamp = timestamptz or date = timestamp). An array for = ANY is
// judged by its element type.
func declaredType(oid uint32, ct value.Type, kind rewrite.ParamKind) (value.Type, bool) {
	if kind == rewrite.ParamTermArray {
		// `col = ANY($1)` compares each element as `col = $1` would (PostgreSQL's operator of
		// the column's type and the element's): the element's type, as for a scalar.
		dt, ok := value.TypeByArrayOID(oid)
		return dt, ok && value.ComparableAs(dt, ct)
	}
	dt, ok := value.TypeByOID(oid)
	switch {
	case !ok:
		return 0, false
	case kind == rewrite.ParamTerm || kind == rewrite.ParamOrd:
		return dt, value.ComparableAs(dt, ct)
	case kind == rewrite.ParamMatch:
		return 0, false // a pattern is text: sameWireType accepts text and varchar
	}
	return dt, value.Assignable(dt, ct)
}

// valueCast is the cast rewrite removed around a value: Edit/Param Cast and CastLen.
type valueCast struct {
	typ      string     // "" when the cast is to the column's type
	len      int        // > 0: varchar(len)
	declared value.Type // a parameter's type declared in Parse (declaredType), or numeric for a
	// literal under an integer cast (Edit.Numeric); 0: typ's
	inList bool // an item of an IN list of two or more: cast to the list's common type (Param.InList)
}

// sealAs says what sealCast makes of a value.
type sealAs uint8

const (
	asEnvelope sealAs = iota // assigned: the envelope
	asTerm                   // compared by =: the equality term
	asOrd                    // compared by <, BETWEEN, …: the order term
)

// sealAsParam and sealAsEdit map a parameter's or a literal's kind to what it becomes.
func sealAsParam(k rewrite.ParamKind) sealAs {
	switch k {
	case rewrite.ParamTerm:
		return asTerm
	case rewrite.ParamOrd:
		return asOrd
	}
	return asEnvelope
}

// sealAsArray is what the elements of an array for = ANY become: order terms on a column with
// order search only (rewrite.Param.Ord, Edit.Ord), else equality terms.
func sealAsArray(ord bool) sealAs {
	if ord {
		return asOrd
	}
	return asTerm
}

func sealAsEdit(k rewrite.EditKind) sealAs {
	switch k {
	case rewrite.EditTerm:
		return asTerm
	case rewrite.EditOrd:
		return asOrd
	}
	return asEnvelope
}

// sealCast returns what one literal or parameter value v (format f) becomes: the envelope of its
// plaintext when assigned, its equality or order term when compared (as). v is parsed as the client's
// type (a parameter's declared one, else the statement's), cast explicitly to the statement's
// (cast.typ) and converted to the column's, as PostgreSQL does: the same value, the same syntax
// and range errors.
func sealCast(ks *keyring.Keyset, col *column.Column, as sealAs, cast valueCast, f int16, v []byte, vs *value.Session) ([]byte, error) {
	from, err := castType(cast.typ, col.Type)
	if err != nil {
		return nil, err
	}
	client := from
	if cast.declared.Valid() {
		client = cast.declared
	}
	plain, err := value.Encode(nil, client, f, v, vs)
	if err != nil {
		return nil, err
	}
	if as != asEnvelope {
		if out, done, err := compareAcross(ks, col, as, cast, from, plain, vs); done || err != nil {
			return out, err
		}
	}
	steps := []struct {
		to       value.Type
		explicit bool // an explicit cast raises its range error even in a comparison
	}{{from, cast.typ != ""}, {col.Type, false}}
	for _, st := range steps {
		if plain[0] == byte(st.to) {
			continue
		}
		conv, err := value.Convert(nil, st.to, plain, vs)
		var ve *value.Error
		outOfRange := !st.explicit && errors.As(err, &ve) && ve.Code == sqlstate.NumericValueOutOfRange
		if as == asOrd && outOfRange && isInteger(value.Type(plain[0])) && isInteger(col.Type) {
			// `int4col < $1::int8` runs int48lt on the wide value; integer order forms are all
			// int64, so the wide value's term compares as PostgreSQL does.
			break
		}
		if as == asTerm && outOfRange && isInteger(value.Type(plain[0])) && isInteger(col.Type) {
			// `int4col = $1::int8` runs int48eq, no conversion: a value outside the column's range
			// equals none of its values (and <> all). An empty term is never a stored 16-byte one.
			return []byte{}, nil
		}
		if as != asEnvelope && !st.explicit && !cast.inList && errors.As(err, &ve) && ve.Code == sqlstate.DatetimeFieldOverflow {
			if edge, ok := value.DatetimeOverflowEdge(st.to, plain); ok {
				return datetimeBeyond(ks, col, as, edge)
			}
		}
		if err != nil {
			return nil, err
		}
		plain = conv
	}
	if cast.len > 0 {
		if plain, err = value.TruncateChars(plain, cast.len, vs); err != nil {
			return nil, err
		}
	}
	if as == asEnvelope && col.MaxChars > 0 {
		if plain, err = value.FitChars(plain, col.MaxChars, vs); err != nil {
			return nil, err
		}
	}
	return sealPlain(ks, col, as, plain)
}

// compareAcross is sealCast for the comparisons where PostgreSQL's cross-type operator does not
// convert the value to the column's type (done is false for the others): numeric = int4
// compares as numeric (numericOnInt); float4 = float8 compares in float8, and float4 = numeric or
// integer too, the value converted to float8 first (float8OnFloat4). `$1::real` has cast.typ and
// is cast to float4 first; in `IN ($1, $2)` the list's common type is float4 (inListTypes).
func compareAcross(ks *keyring.Keyset, col *column.Column, as sealAs, cast valueCast, from value.Type, plain []byte, vs *value.Session) ([]byte, bool, error) {
	if value.Type(plain[0]) == value.Numeric && isInteger(col.Type) && (from == value.Numeric || cast.typ == "") {
		out, err := numericOnInt(ks, col, as, plain, vs)
		return out, true, err
	}
	if col.Type != value.Float4 {
		return nil, false, nil
	}
	if (cast.declared == value.Numeric || isInteger(cast.declared)) && cast.typ == "" && !cast.inList {
		var err error
		if plain, err = value.Convert(nil, value.Float8, plain, vs); err != nil {
			return nil, true, err
		}
	}
	if value.Type(plain[0]) == value.Float8 && (cast.typ == "" || from == value.Float8) {
		out, err := float8OnFloat4(ks, col, as, plain)
		return out, true, err
	}
	return nil, false, nil
}

// sealPlain is sealCast's last step: the envelope, equality term or order term of a plaintext
// already in the column's type (or, for an order term, a wider integer type).
func sealPlain(ks *keyring.Keyset, col *column.Column, as sealAs, plain []byte) ([]byte, error) {
	var out []byte
	var err error
	switch as {
	case asTerm:
		out, err = col.Term(ks, plain)
	case asOrd: // a comparison bound, which may be longer than a stored value (OrdBound)
		wide := *col // a wide integer kept above: its own type, the same domain and keys
		wide.Type = value.Type(plain[0])
		out, err = wide.OrdBound(nil, ks, plain)
	default:
		out, err = col.Seal(nil, ks, plain)
	}
	if err != nil {
		return nil, keyError(err)
	}
	return out, nil
}

// numericOnInt is sealCast for a numeric x compared with an integer column: an unquoted decimal
// (1.5, 1e30), or a parameter declared numeric (not `1.5::int8`, which rounds first). PostgreSQL
// compares them as numeric, the column's value converted exactly. So = holds only for a whole x
// within the column's range; for any other x the term is empty, which no stored value has
// (= false, <> true). An order bound x that is not an integer lies strictly between ⌊x⌋ and
// ⌊x⌋+1, and so does the term of ⌊x⌋ with 0x00 appended, as for a bound cut to ord_max_bytes
// (Column.OrdBound): every operator keeps its meaning. Below every int64 the bound is the terms'
// keyset prefix, below all of them; above, the largest int64's term with 0x00.
func numericOnInt(ks *keyring.Keyset, col *column.Column, as sealAs, plain []byte, vs *value.Session) ([]byte, error) {
	floor, whole, beyond, err := value.NumericBound(plain)
	if err != nil {
		return nil, err
	}
	if as == asTerm {
		if !whole || beyond != 0 {
			return []byte{}, nil
		}
		v, err := value.Convert(nil, col.Type, floor, vs)
		var ve *value.Error
		if errors.As(err, &ve) && ve.Code == sqlstate.NumericValueOutOfRange {
			return []byte{}, nil // beyond the column's range: equal to none of its values
		}
		if err != nil {
			return nil, err
		}
		return sealPlain(ks, col, asTerm, v)
	}
	switch beyond {
	case -1:
		t, err := sealPlain(ks, col, asOrd, int8Plain(math.MinInt64))
		if err != nil {
			return nil, err
		}
		return t[:column.OrdPrefixLen], nil
	case 1:
		floor, whole = int8Plain(math.MaxInt64), false
	}
	t, err := sealPlain(ks, col, asOrd, floor)
	if err != nil || whole {
		return t, err
	}
	return append(t, 0), nil
}

// float8OnFloat4 is sealCast for a float8 compared with a float4 column, as PostgreSQL's float48
// operators do (an unquoted number float4 cannot hold, a parameter declared float8): the column's
// value is widened, exactly. So = holds only where float4 holds the number (NaN included:
// PostgreSQL's NaNs are equal); otherwise the term is empty, which no stored value has. An order
// bound keeps its float8 value: the order terms of float4 values are those of their float8
// widening (value.OrderForm), so it sorts among them as the number does.
func float8OnFloat4(ks *keyring.Keyset, col *column.Column, as sealAs, plain []byte) ([]byte, error) {
	if as == asOrd {
		return sealPlain(ks, col, asOrd, plain)
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(plain[1:]))
	if !math.IsNaN(f) && float64(float32(f)) != f {
		return []byte{}, nil
	}
	f4 := binary.BigEndian.AppendUint32([]byte{byte(value.Float4)}, math.Float32bits(float32(f)))
	return sealPlain(ks, col, asTerm, f4)
}

// datetimeBeyond is sealCast for a date or timestamp compared with a timestamp or timestamptz
// column beyond whose range it lies (`tscol < '5874897-12-31'::date`). PostgreSQL's cross-type
// comparisons do not fail there, the value sorts just above edge (value.DatetimeOverflowEdge): it
// equals no value (an empty term), and as an order bound it is edge's term with 0x00 appended,
// which sorts after edge's and before the next value's, as Column.OrdBound does for cut text.
// Not so for an item of an IN list of two or more: the items are cast to the list's common type,
// with the cast's error.
func datetimeBeyond(ks *keyring.Keyset, col *column.Column, as sealAs, edge []byte) ([]byte, error) {
	if as == asTerm {
		return []byte{}, nil
	}
	t, err := sealPlain(ks, col, asOrd, edge)
	if err != nil {
		return nil, err
	}
	return append(t, 0), nil
}

// int8Plain is the plaintext of an int8 value.
func int8Plain(v int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(value.Int8)}, uint64(v))
}

func isInteger(t value.Type) bool { return t == value.Int2 || t == value.Int4 || t == value.Int8 }
