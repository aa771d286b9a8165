package value

import (
	"strings"
)

// Type is a plaintext column type. Its numeric value is stored as the tag byte inside every
// plaintext (and therefore inside every ciphertext), so the numbers below must never change.
type Type uint8

// The supported types. NEVER renumber: the tags are part of data at rest.
const (
	Text        Type = 1
	Varchar     Type = 2
	Int2        Type = 3
	Int4        Type = 4
	Int8        Type = 5
	Float4      Type = 6
	Float8      Type = 7
	Numeric     Type = 8
	Bool        Type = 9
	Date        Type = 10
	Timestamp   Type = 11
	Timestamptz Type = 12
	UUID        Type = 13
	JSON        Type = 14
	JSONB       Type = 15
	Bytea       Type = 16
)

// typeInfo is what PostgreSQL's catalog says about a type (pg_type), plus the name its input
// functions use in error messages (format_type_be).
type typeInfo struct {
	name     string // canonical short name, as in pg_type.typname
	sqlName  string // name in PostgreSQL error messages
	oid      uint32
	arrayOID uint32
	size     int16 // pg_type.typlen
}

var types = [...]typeInfo{
	Text:        {"text", "text", 25, 1009, -1},
	Varchar:     {"varchar", "character varying", 1043, 1015, -1},
	Int2:        {"int2", "smallint", 21, 1005, 2},
	Int4:        {"int4", "integer", 23, 1007, 4},
	Int8:        {"int8", "bigint", 20, 1016, 8},
	Float4:      {"float4", "real", 700, 1021, 4},
	Float8:      {"float8", "double precision", 701, 1022, 8},
	Numeric:     {"numeric", "numeric", 1700, 1231, -1},
	Bool:        {"bool", "boolean", 16, 1000, 1},
	Date:        {"date", "date", 1082, 1182, 4},
	Timestamp:   {"timestamp", "timestamp without time zone", 1114, 1115, 8},
	Timestamptz: {"timestamptz", "timestamp with time zone", 1184, 1185, 8},
	UUID:        {"uuid", "uuid", 2950, 2951, 16},
	JSON:        {"json", "json", 114, 199, -1},
	JSONB:       {"jsonb", "jsonb", 3802, 3807, -1},
	Bytea:       {"bytea", "bytea", 17, 1001, -1},
}

// aliases maps the names PostgreSQL's grammar accepts for these types to the type.
var aliases = map[string]Type{
	"character varying":           Varchar,
	"integer":                     Int4,
	"int":                         Int4,
	"smallint":                    Int2,
	"bigint":                      Int8,
	"real":                        Float4,
	"double precision":            Float8,
	"float":                       Float8, // float without precision is float8 in PostgreSQL
	"decimal":                     Numeric,
	"boolean":                     Bool,
	"timestamp without time zone": Timestamp,
	"timestamp with time zone":    Timestamptz,
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return t >= Text && t <= Bytea }

// ParseType resolves a configured type name or alias, case-insensitively ("integer", "int4",
// "Timestamp With Time Zone", "pg_catalog.text", ...).
func ParseType(name string) (Type, error) {
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	n = strings.TrimPrefix(n, "pg_catalog.")
	if t, ok := aliases[n]; ok {
		return t, nil
	}
	for t := Text; t <= Bytea; t++ {
		if types[t].name == n {
			return t, nil
		}
	}
	// Do not echo the name: config errors are printed, and the name is not secret, but a one-line
	// reason naming the accepted set is more useful than an echo anyway.
	return 0, &Error{Code: CodeUndefinedObject, Message: "unsupported column type (want one of text, varchar, int2, int4, int8, float4, float8, numeric, bool, date, timestamp, timestamptz, uuid, json, jsonb, bytea)"}
}

// String returns the canonical PostgreSQL name (pg_type.typname), e.g. "timestamptz".
func (t Type) String() string {
	if !t.Valid() {
		return "invalid"
	}
	return types[t].name
}

// sqlName is the name PostgreSQL uses for the type in input error messages.
func (t Type) sqlName() string {
	if !t.Valid() {
		return "invalid"
	}
	return types[t].sqlName
}

// OID returns the type's pg_type OID (0 for an invalid type).
func (t Type) OID() uint32 {
	if !t.Valid() {
		return 0
	}
	return types[t].oid
}

// ArrayOID returns the OID of the type's array type, used when a statement binds an array of
// values, as in `= ANY($1)`.
func (t Type) ArrayOID() uint32 {
	if !t.Valid() {
		return 0
	}
	return types[t].arrayOID
}

// Size returns pg_type.typlen, as RowDescription reports it: -1 for variable-length types.
func (t Type) Size() int16 {
	if !t.Valid() {
		return 0
	}
	return types[t].size
}

// SupportsEquality reports whether PostgreSQL has an `=` operator for the type, and therefore
// whether an equality term makes sense. json has none. jsonb does, and EqualityForm implements
// jsonb equality (numbers compared as numerics, keys unordered, duplicate keys collapsed).
func (t Type) SupportsEquality() bool {
	return t.Valid() && t != JSON
}

// TypeByArrayOID is TypeByOID for an array type: the type of its elements.
func TypeByArrayOID(oid uint32) (Type, bool) {
	for t := Text; t <= Bytea; t++ {
		if types[t].arrayOID == oid {
			return t, true
		}
	}
	return 0, false
}

// TypeByOID returns the type whose pg_type OID is oid (a client's declared parameter type).
func TypeByOID(oid uint32) (Type, bool) {
	for t := Text; t <= Bytea; t++ {
		if types[t].oid == oid {
			return t, true
		}
	}
	return 0, false
}
