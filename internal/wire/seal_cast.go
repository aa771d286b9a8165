package wire

import (
	"errors"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/migrate"
	"github.com/pgseal/pgseal/internal/rewrite"
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

// valueCast is the cast rewrite removed around a value: Edit/Param Cast and CastLen.
type valueCast struct {
	typ string // "" when the cast is to the column's type
	len int    // > 0: varchar(len)
}

// sealCast returns what one literal or parameter value v (format f) becomes: the envelope of its
// plaintext when assigned, its equality term when compared (term). v is parsed as the cast's type
// and converted to the column's, as PostgreSQL parses a cast's argument and then assigns it: the
// same value, the same syntax and range errors.
func sealCast(ks *keyring.Keyset, col migrate.Column, term bool, cast valueCast, f int16, v []byte, vs *value.Session) ([]byte, error) {
	from, err := castType(cast.typ, col.Type)
	if err != nil {
		return nil, err
	}
	plain, err := value.Encode(nil, from, f, v, vs)
	if err != nil {
		return nil, err
	}
	if from != col.Type {
		conv, err := value.Convert(nil, col.Type, plain, vs)
		var ve *value.Error
		if term && errors.As(err, &ve) && ve.Code == value.CodeNumericValueOutOfRange {
			// `int4col = $1::int8` runs int48eq, no conversion: a value outside the column's range
			// equals none of its values (and <> all). An empty term is never a stored 16-byte one.
			return []byte{}, nil
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
	var out []byte
	if term {
		out, err = migrate.TermOf(ks, col, plain)
	} else {
		out, err = migrate.SealValue(nil, ks, col, plain)
	}
	if err != nil {
		return nil, keyError(err)
	}
	return out, nil
}
