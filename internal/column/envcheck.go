package column

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pgseal/pgseal/internal/crypto"
)

// The envelope CHECK is PostgreSQL's own backstop: whatever writes to an encrypted column (a
// stale client, a function, a rule, dynamic SQL, a direct connection), a value that is not shaped
// like a pgseal envelope is refused with 23514. It checks the header cheaply (length is O(1) on
// bytea, get_byte reads three bytes) and cannot tell a forged envelope from a real one: only the
// proxy's tag check can.
//
// checkVersion marks the definition the code writes. The constraint's COMMENT carries it
// (pg_get_constraintdef's text depends on the server version and search_path, a comment does
// not, and PostgreSQL drops the comment with the constraint), so an older pgseal CHECK, with no
// comment or an older one, is recognised as present but outdated and `proxy protect` replaces it.
//
// NOTE: bump checkVersion whenever CheckExpr changes.
const checkVersion = 3

// CheckComment is the COMMENT ON CONSTRAINT of a current envelope CHECK.
var CheckComment = "pgseal envelope check v" + strconv.Itoa(checkVersion)

// checkSuites are the suite bytes the CHECK accepts: suite 1 is AES-256-GCM (crypto.Suite1),
// suite 2 ChaCha20-Poly1305 (crypto.Suite2, issue 13), with the same header and minimum length.
// NOTE: a new suite byte is added here (and checkVersion bumped), then `proxy protect` upgrades
// every column; add it before any proxy writes the new suite.
var checkSuites = []int{int(crypto.Suite1), int(crypto.Suite2)}

// Envelope CHECK states (EnvelopeCheckQuery; internal/migrate's Status and Protect).
const (
	CheckOK           = "ok"            // current definition, validated
	CheckMissing      = "missing"       // no pgseal envelope CHECK on the column
	CheckOutdated     = "outdated"      // an older pgseal definition (proxy protect replaces it)
	CheckNotValidated = "not validated" // current, enforced for new rows, existing rows not yet checked
)

// CheckName is the envelope CHECK's name for column col, cut as PostgreSQL cuts identifiers
// (NAMEDATALEN-1 = 63 bytes, on a character boundary), so that looking it up by name finds the
// constraint a long column name got.
func CheckName(col string) string {
	n := "pgseal_envelope_" + col
	for len(n) > 63 {
		_, size := utf8.DecodeLastRuneInString(n)
		n = n[:len(n)-size]
	}
	return n
}

// CheckExpr is the condition on column col (already quoted). Every function and operator
// is schema-qualified so that the search_path of whoever creates the constraint cannot bind it to
// look-alikes. The CASEs guard get_byte: AND does not promise an evaluation order, and get_byte
// past the end raises 2202E instead of the check's clean 23514.
//
//	version = 1, suite in checkSuites, and by flags: 0 with length >= 67; 1 (term) with length
//	>= 83; 2 to 7 (order term, match tokens: docs/search.md §1) with the directory at B (23, or
//	39 with a term) naming a non-zero length exactly for each flagged term, and length >= B + 4 +
//	both lengths + 44
func CheckExpr(col string) string {
	ge := func(n int) string { return "pg_catalog.length(" + col + ") OPERATOR(pg_catalog.>=) " + strconv.Itoa(n) }
	getByte := func(off int) string { return "pg_catalog.get_byte(" + col + ", " + strconv.Itoa(off) + ")" }
	byteIs := func(off, v int) string { return getByte(off) + " OPERATOR(pg_catalog.=) " + strconv.Itoa(v) }
	var suites []string
	for _, s := range checkSuites {
		suites = append(suites, byteIs(crypto.SuiteOffset, s))
	}
	flags := []string{
		"WHEN " + byteIs(crypto.FlagsOffset, 0) + " THEN true",
		"WHEN " + byteIs(crypto.FlagsOffset, int(crypto.FlagTerm)) + " THEN " + ge(crypto.MinSizeTerm),
	}
	tail := crypto.MinSize - crypto.HeaderSize // salt, nonce, tag
	for f := 2; f < 8; f++ {
		b := crypto.HeaderSize
		if f&int(crypto.FlagTerm) != 0 {
			b = crypto.HeaderSizeTerm
		}
		u16 := func(off int) string {
			return "(" + getByte(off) + " OPERATOR(pg_catalog.*) 256 OPERATOR(pg_catalog.+) " + getByte(off+1) + ")"
		}
		present := func(off int, flag byte) string {
			if f&int(flag) != 0 {
				return u16(off) + " OPERATOR(pg_catalog.>) 0"
			}
			return u16(off) + " OPERATOR(pg_catalog.=) 0"
		}
		flags = append(flags, "WHEN "+byteIs(crypto.FlagsOffset, f)+" THEN CASE WHEN "+ge(b+crypto.DirSize+tail)+" THEN "+
			present(b, crypto.FlagOrd)+" AND "+present(b+2, crypto.FlagMatch)+" AND pg_catalog.length("+col+") OPERATOR(pg_catalog.>=) ("+
			strconv.Itoa(b+crypto.DirSize+tail)+" OPERATOR(pg_catalog.+) "+u16(b)+" OPERATOR(pg_catalog.+) "+u16(b+2)+") ELSE false END")
	}
	return col + " IS NULL OR CASE WHEN " + ge(crypto.MinSize) + " THEN " +
		byteIs(crypto.VersionOffset, int(crypto.Version1)) +
		" AND (" + strings.Join(suites, " OR ") + ")" +
		" AND CASE " + strings.Join(flags, " ") + " ELSE false END" +
		" ELSE false END"
}

// CheckClause is the constraint clause for column col (already quoted).
func CheckClause(col string) string { return "CHECK (" + CheckExpr(col) + ")" }

// EnvelopeCheckQuery lists the configured columns that are bytea in the connected database with
// the state of their envelope CHECK: column id ("schema.table.column") and a Check* constant, in
// text. It is one catalog query, cheap enough for the proxy to run whenever it loads a database's
// catalog over the session's connection (internal/seal); migrate.EnvelopeChecksNotOK runs it over
// pgx.
func EnvelopeCheckQuery(cols []Column) string {
	var vals []string
	for _, c := range cols {
		vals = append(vals, "("+lit(c.Schema)+", "+lit(c.Table)+", "+lit(c.Name)+", "+lit(c.ID)+", "+lit(CheckName(c.Name))+")")
	}
	if len(vals) == 0 {
		return "SELECT NULL::text, NULL::text WHERE false"
	}
	return `SELECT v.id, CASE WHEN con.oid IS NULL THEN ` + lit(CheckMissing) + `
  WHEN coalesce(pg_catalog.obj_description(con.oid, 'pg_constraint'), '') OPERATOR(pg_catalog.<>) ` + lit(CheckComment) + ` THEN ` + lit(CheckOutdated) + `
  WHEN NOT con.convalidated THEN ` + lit(CheckNotValidated) + ` ELSE ` + lit(CheckOK) + ` END
FROM (VALUES ` + strings.Join(vals, ", ") + `) v(s, t, c, id, con)
JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) v.s
JOIN pg_catalog.pg_class cl ON cl.relnamespace OPERATOR(pg_catalog.=) n.oid AND cl.relname OPERATOR(pg_catalog.=) v.t
JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) cl.oid AND a.attname OPERATOR(pg_catalog.=) v.c AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_constraint con ON con.conrelid OPERATOR(pg_catalog.=) cl.oid AND con.contype OPERATOR(pg_catalog.=) 'c'
  AND con.conname OPERATOR(pg_catalog.=) v.con
WHERE a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.bytea'::pg_catalog.regtype
ORDER BY 1`
}

// lit is s as a SQL string literal (standard_conforming_strings on).
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
