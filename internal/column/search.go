package column

import (
	"encoding/hex"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// Order terms and match tokens of a column (docs/search.md §2, §3), and PostgreSQL's LIKE.

// maxMatchTokens is how many trigram tokens fit the envelope directory's u16 length next to the
// keyset token: 33 + 5·n ≤ crypto.MaxTermLen.
const maxMatchTokens = (crypto.MaxTermLen - keysetTokenLen) / 5

// keysetTokenLen is the length of the keyset token: "k" and 32 hex digits.
const keysetTokenLen = 1 + 2*len(crypto.KeysetID{})

// ordLimit is the column's ord_max_bytes.
func (c *Column) ordLimit() int {
	if c.OrdMaxBytes > 0 {
		return c.OrdMaxBytes
	}
	return config.DefaultOrdMaxBytes
}

// OrdPrefixLen is the length of the prefix every order term of a keyset starts with: the keyset
// id and 0x01 (docs/search.md §2). The prefix alone sorts below each of them.
const OrdPrefixLen = 17

// OrdTerm appends the order term of one plaintext (value.Encode's output) of c under ks: the
// keyset id, 0x01, then two bytes per bit of the value's order form (docs/search.md). Terms of
// one keyset and domain compare under bytea order as the plaintexts do under PostgreSQL's (text
// as under COLLATE "C"). A text or numeric value whose order form is longer than the column's
// ord_max_bytes is refused with 22001.
func (c *Column) OrdTerm(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	return c.ordTerm(dst, ks, plain, false)
}

// OrdBound is OrdTerm for a comparison bound x (the x of c < x, c BETWEEN x AND y), which
// unlike a stored value may be longer than ord_max_bytes. Then it returns T' || 0x00, where T' is
// the term of x's order form cut to ord_max_bytes bytes, and the bound compares with the term of
// every storable value v (whose form is at most that long) as x compares with v, so the SQL
// keeps its operator (docs/search.md §4): a form below the cut one is below x; one equal to it is
// a proper prefix of x's form, so below x, and its term T' is below T' || 0x00; one above it
// differs from it within its length, so it is above x, and its term is above T' || 0x00 (no term
// lies between T' and T' || 0x00, and none equals the latter: terms have an even number of
// bytes after the 17-byte prefix).
func (c *Column) OrdBound(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	return c.ordTerm(dst, ks, plain, true)
}

// ordTerm is OrdTerm, or with bound OrdBound: a form longer than ord_max_bytes is refused, or
// cut with 0x00 appended to its term.
func (c *Column) ordTerm(dst []byte, ks *keyring.Keyset, plain []byte, bound bool) ([]byte, error) {
	var buf [128]byte
	form, err := value.OrderForm(buf[:0], c.Type, plain)
	if err != nil {
		return dst, err
	}
	variable := value.OrderVariable(c.Type)
	truncated := false
	if limit := c.ordLimit(); variable && len(form) > limit {
		if !bound {
			return dst, &value.Error{Code: sqlstate.StringDataRightTruncation,
				Message: "value too long for an ord search term (ord_max_bytes = " + strconv.Itoa(limit) + ")"}
		}
		form, truncated = form[:limit], true
	}
	ok, err := ks.OrdKey(c.Domain)
	if err != nil {
		return dst, err
	}
	term, err := ok.Term(dst, form, variable)
	if err == nil && truncated {
		term = append(term, 0)
	}
	return term, err
}

// MatchTokens appends the match tokens of one plaintext of c under ks, as the envelope stores
// them: ASCII, space-separated, the keyset token ("k" and the keyset id in hex) first, then the
// distinct tokens of the value's case-folded trigrams, sorted. Only text and varchar columns have
// them (0A000). A value with more distinct trigram tokens than the envelope's directory can hold
// (about 13,100) is refused with 22001.
func (c *Column) MatchTokens(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	if c.Type != value.Text && c.Type != value.Varchar {
		return dst, &value.Error{Code: sqlstate.FeatureNotSupported, Message: "type " + c.Type.String() + " has no match search"}
	}
	if len(plain) == 0 || plain[0] != byte(c.Type) {
		return dst, &value.Error{Code: sqlstate.DataCorrupted, Message: "decrypted value has the wrong type tag"}
	}
	mk, err := ks.MatchKey(c.Domain)
	if err != nil {
		return dst, err
	}
	toks := trigramTokens(nil, mk, string(plain[1:]))
	slices.Sort(toks)
	toks = slices.Compact(toks)
	if len(toks) > maxMatchTokens {
		return dst, &value.Error{Code: sqlstate.StringDataRightTruncation,
			Message: "value has too many distinct trigrams for match search tokens (at most " + strconv.Itoa(maxMatchTokens) + ")"}
	}
	dst = appendKeysetToken(dst, ks.ID)
	for _, t := range toks {
		dst = append(dst, ' ')
		dst = appendToken(dst, t)
	}
	return dst, nil
}

func appendKeysetToken(dst []byte, id crypto.KeysetID) []byte {
	dst = append(dst, 'k')
	return hex.AppendEncode(dst, id[:])
}

func appendToken(dst []byte, t uint16) []byte {
	return hex.AppendEncode(dst, []byte{byte(t >> 8), byte(t)})
}

// trigramTokens appends the token of every trigram (three consecutive characters, after fold) of
// s to toks.
func trigramTokens(toks []uint16, mk *crypto.MatchKey, s string) []uint16 {
	var w [3]rune
	n := 0
	var buf [3 * utf8.UTFMax]byte
	for _, r := range s {
		w[0], w[1], w[2] = w[1], w[2], foldRune(r)
		if n++; n < 3 {
			continue
		}
		b := utf8.AppendRune(buf[:0], w[0])
		b = utf8.AppendRune(b, w[1])
		b = utf8.AppendRune(b, w[2])
		toks = append(toks, mk.Token(b))
	}
	return toks
}

// foldRune is the case folding of match tokens (docs/search.md §3): the lower case of the
// smallest member of the simple case-folding orbit of the rune's lower case. It depends on the
// rune only through unicode.ToLower, so two characters that LIKE (equal), ILIKE under C (equal up
// to A-Z) or ILIKE under any other LC_CTYPE (equal lower case) consider equal fold the same; ASCII
// letters become lower case.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A' // the general rule gives the same (k: K, k, U+212A; s: S, s, ſ)
		}
		return r
	}
	l := unicode.ToLower(r)
	m := l
	for f := unicode.SimpleFold(l); f != l; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return unicode.ToLower(m)
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
// token first (rewrite's LIKE reads the keyset from it and asks the index for the rest), then one
// per trigram of the pattern's literal runs. A pattern ending in the escape
// character is refused with 22025 (PostgreSQL raises it only once a row's matching reaches that
// end, which the token filter cannot tell).
func (c *Column) PatternTokens(ks *keyring.Keyset, pattern string, esc Escape) (string, error) {
	toks, err := parsePattern(pattern, esc, FoldNone)
	if err != nil {
		return "", err
	}
	if (LikePattern{toks: toks}).EndsInEscape() {
		return "", errEndsWithEscape()
	}
	mk, err := ks.MatchKey(c.Domain)
	if err != nil {
		return "", err
	}
	var tt []uint16
	var run []rune
	flush := func() {
		if len(run) >= 3 {
			tt = trigramTokens(tt, mk, string(run))
		}
		run = run[:0]
	}
	for _, t := range toks {
		if t.kind == tokLit {
			run = append(run, t.r)
		} else {
			flush()
		}
	}
	flush()
	slices.Sort(tt)
	tt = slices.Compact(tt)
	out := make([]byte, 0, 2+keysetTokenLen+5*len(tt))
	out = append(out, '{')
	out = appendKeysetToken(out, ks.ID)
	for _, t := range tt {
		out = append(out, ',')
		out = appendToken(out, t)
	}
	return string(append(out, '}')), nil
}

// Fold is how ILIKE compares case.
type Fold uint8

// Folds.
const (
	FoldNone    Fold = iota // LIKE
	FoldASCII               // ILIKE under LC_CTYPE C/POSIX: only A-Z
	FoldUnicode             // ILIKE under any other LC_CTYPE: Unicode simple lower case
)

func (f Fold) apply(r rune) rune {
	switch f {
	case FoldASCII:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
	case FoldUnicode:
		return unicode.ToLower(r)
	}
	return r
}

// Pattern token kinds.
const (
	tokLit      = iota // one character, matched literally (escaped or not)
	tokOne             // _
	tokAny             // %
	tokDangling        // the escape character at the very end
)

type patTok struct {
	kind uint8
	r    rune
}

// parsePattern splits a LIKE pattern into tokens, folding literals with fold: PostgreSQL applies
// the ESCAPE clause first (like_escape) and lower-cases the result for ILIKE.
func parsePattern(pattern string, esc Escape, fold Fold) ([]patTok, error) {
	toks := make([]patTok, 0, len(pattern))
	escaped := false
	for _, r := range pattern {
		switch {
		case escaped:
			toks = append(toks, patTok{tokLit, fold.apply(r)})
			escaped = false
		case !esc.None && r == esc.Char:
			escaped = true
		case r == '%':
			toks = append(toks, patTok{kind: tokAny})
		case r == '_':
			toks = append(toks, patTok{kind: tokOne})
		default:
			toks = append(toks, patTok{tokLit, fold.apply(r)})
		}
	}
	if escaped {
		toks = append(toks, patTok{kind: tokDangling})
	}
	return toks, nil
}

func errEndsWithEscape() error {
	return &value.Error{Code: sqlstate.InvalidEscapeSequence, Message: "LIKE pattern must not end with escape character"}
}

// Results of likeMatch, as PostgreSQL's MatchText.
const (
	likeFalse = iota
	likeTrue
	likeAbort
)

// Like reports whether s matches pattern as PostgreSQL's LIKE (FoldNone) or ILIKE decides it
// for UTF-8 text: % any sequence, _ one character, esc escapes. Errors are PostgreSQL's (22025
// for a pattern ending in the escape character, raised as PostgreSQL raises it: only when the
// matching reaches that end).
func Like(s, pattern string, esc Escape, fold Fold) (bool, error) {
	ok, _, err := CompileLike(pattern, esc, fold).Match([]byte(s), nil)
	return ok, err
}

// LikePattern is a LIKE or ILIKE pattern parsed once, to match many values (pgseal's filter
// runs one per result row). It is read-only, so goroutines may share it.
type LikePattern struct {
	toks []patTok
	fold Fold
}

// CompileLike parses pattern as Like does.
func CompileLike(pattern string, esc Escape, fold Fold) LikePattern {
	toks, _ := parsePattern(pattern, esc, fold) // parsePattern has no error of its own
	return LikePattern{toks: toks, fold: fold}
}

// EndsInEscape reports whether the pattern ends in an escape character that escapes nothing,
// which PostgreSQL refuses (22025) once a match reaches it.
func (p LikePattern) EndsInEscape() bool {
	return len(p.toks) > 0 && p.toks[len(p.toks)-1].kind == tokDangling
}

// Match is Like of the UTF-8 text s against the compiled pattern. buf is scratch for s's
// characters; Match returns it, grown, for the next call.
func (p LikePattern) Match(s []byte, buf []rune) (bool, []rune, error) {
	buf = buf[:0]
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s) // as ranging over a string: an invalid byte is one RuneError
		buf = append(buf, p.fold.apply(r))
		s = s[n:]
	}
	res, err := likeMatch(buf, p.toks)
	return res == likeTrue, buf, err
}

// likeMatch is PostgreSQL's MatchText (like_match.c) over characters: the same recursion, the
// same abort rule (which keeps it polynomial) and the same point at which a dangling escape is
// an error.
func likeMatch(t []rune, p []patTok) (int, error) {
	for len(t) > 0 && len(p) > 0 {
		switch p[0].kind {
		case tokDangling:
			return likeFalse, errEndsWithEscape()
		case tokAny:
			for len(p) > 0 {
				if p[0].kind == tokAny {
					p = p[1:]
				} else if p[0].kind == tokOne {
					if len(t) == 0 {
						return likeAbort, nil
					}
					t, p = t[1:], p[1:]
				} else {
					break
				}
			}
			if len(p) == 0 {
				return likeTrue, nil
			}
			if p[0].kind == tokDangling {
				return likeFalse, errEndsWithEscape()
			}
			first := p[0].r
			for len(t) > 0 {
				if t[0] == first {
					m, err := likeMatch(t, p)
					if err != nil || m != likeFalse {
						return m, err
					}
				}
				t = t[1:]
			}
			return likeAbort, nil
		case tokOne:
			t, p = t[1:], p[1:]
			continue
		default:
			if p[0].r != t[0] {
				return likeFalse, nil
			}
		}
		t, p = t[1:], p[1:]
	}
	if len(t) > 0 {
		return likeFalse, nil
	}
	for len(p) > 0 && p[0].kind == tokAny {
		p = p[1:]
	}
	if len(p) == 0 {
		return likeTrue, nil
	}
	return likeAbort, nil
}
