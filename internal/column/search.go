package column

import (
	"errors"

	"github.com/pgseal/pgseal/internal/keyring"
)

// CONTRACT STUBS (issue 14): replaced by the real order and match terms.

var errNotYet = errors.New("ord/match terms are not built yet")

// OrdTerm appends the order term of one plaintext (value.Encode's output) of c under ks: the
// keyset id, 0x01, then two bytes per bit of the value's order form (docs/search.md). Terms of
// one keyset and domain compare under bytea order as the plaintexts do under PostgreSQL's.
func (c *Column) OrdTerm(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	return dst, errNotYet
}

// MatchTokens appends the match tokens of one plaintext of c under ks, as the envelope stores
// them: ASCII, space-separated (the keyset token first).
func (c *Column) MatchTokens(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	return dst, errNotYet
}

// Escape is a LIKE pattern's escape character: Char (default '\\'), or None for ESCAPE ”.
type Escape struct {
	Char rune
	None bool
}

// DefaultEscape is backslash.
var DefaultEscape = Escape{Char: '\\'}

// PatternTokens returns the text[] literal ("{…}") of the tokens every value of c under ks that
// matches pattern (LIKE, or ILIKE: the tokens are case-folded either way) carries: the keyset
// token and one per trigram of the pattern's literal runs. Errors are PostgreSQL's for a bad
// pattern (22025).
func (c *Column) PatternTokens(ks *keyring.Keyset, pattern string, esc Escape) (string, error) {
	return "", errNotYet
}

// Fold is how ILIKE compares case.
type Fold uint8

// Folds.
const (
	FoldNone    Fold = iota // LIKE
	FoldASCII               // ILIKE under LC_CTYPE C/POSIX: only A-Z
	FoldUnicode             // ILIKE under any other LC_CTYPE: Unicode simple lower case
)

// Like reports whether s matches pattern as PostgreSQL's LIKE (FoldNone) or ILIKE decides it
// for UTF-8 text: % any sequence, _ one character, esc escapes. Errors are PostgreSQL's (22025
// for a pattern ending in the escape character).
func Like(s, pattern string, esc Escape, fold Fold) (bool, error) {
	return false, errNotYet
}
