package catalog

import (
	"errors"

	"github.com/pgseal/pgseal/internal/value"
)

// typmod encodes a configured column's type modifiers as PostgreSQL stores them in
// pg_attribute.atttypmod, so that catalog introspection through pgseal shows varchar(120) or
// numeric(12,2). No modifiers: -1. The encodings and ranges are the types' typmodin functions
// (varchartypmodin, numerictypmodin, timestamptypmodin in src/backend/utils/adt).
func typmod(t value.Type, mods []int) (int32, error) {
	if len(mods) == 0 {
		return -1, nil
	}
	const varHdr = 4 // VARHDRSZ: varchar and numeric typmods count it
	switch {
	case t == value.Varchar && len(mods) == 1:
		if mods[0] < 1 || mods[0] > 10485760 {
			return 0, errors.New("modifiers: length for type varchar must be between 1 and 10485760")
		}
		return int32(mods[0]) + varHdr, nil
	case t == value.Numeric && len(mods) <= 2:
		p, sc := mods[0], 0
		if len(mods) == 2 {
			sc = mods[1]
		}
		if p < 1 || p > 1000 || sc < -1000 || sc > 1000 {
			return 0, errors.New("modifiers: NUMERIC precision must be between 1 and 1000, scale between -1000 and 1000")
		}
		return int32(p<<16|sc&0x7ff) + varHdr, nil
	case (t == value.Timestamp || t == value.Timestamptz) && len(mods) == 1:
		if mods[0] < 0 || mods[0] > 6 {
			return 0, errors.New("modifiers: timestamp precision must be between 0 and 6")
		}
		return int32(mods[0]), nil
	}
	return 0, errors.New("modifiers: only varchar (length), numeric (precision[, scale]) and timestamp[tz] (precision) take modifiers")
}
