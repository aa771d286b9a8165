package wire

import (
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

// encodeCast parses v as the cast's type and converts it to the column's, as PostgreSQL parses
// the cast's argument and then assigns (or compares) it: the same value, the same range errors.
func encodeCast(cast string, col value.Type, f int16, v []byte, vs *value.Session) ([]byte, error) {
	from, err := castType(cast, col)
	if err != nil {
		return nil, err
	}
	return value.EncodeAs(nil, col, from, f, v, vs)
}

// paramCastType is castType for a parameter.
func paramCastType(p rewrite.Param, col value.Type) (value.Type, error) {
	return castType(p.Cast, col)
}
