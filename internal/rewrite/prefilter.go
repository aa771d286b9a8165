package rewrite

// MayMatter reports whether Analyze would parse sql under s: when false its plan is empty and
// costs nothing to make again, so callers need not cache it.
func MayMatter(sql string, s *Schema) bool { return mayMatter(sql, s) }

// mayMatter reports whether sql could touch an encrypted table or change a setting. It is a
// conservative byte scan, so that the common query pays no parse: false only when the text
// contains no encrypted table name, no U& identifier and none of prefilterWords, all
// case-insensitive substrings except "do", which must stand alone as a word. When unsure it
// says true.
func mayMatter(sql string, s *Schema) bool {
	t := &fixedNeedles
	if s != nil {
		s.encryptedNames()
		t = s.needles
	}
	// One pass over the text, trying only the needles that start with the two bytes at hand.
	for i := 0; i < len(sql); i++ {
		c0, c1 := lowerASCII(sql[i]), byte(0)
		if i+1 < len(sql) {
			c1 = lowerASCII(sql[i+1])
		}
		if !t.pair(c0, c1) {
			continue
		}
		for _, n := range t.byFirst[c0] {
			if hasPrefixFold(sql[i:], n) && (n != "do" || isWordAt(sql, i, len(n))) {
				return true
			}
		}
	}
	return false
}

// prefilterWords are the words of statements that may change a setting, hide a table name
// (U&"…", a name built inside a DO block or function body), run a statement prepared elsewhere
// (EXECUTE, also inside EXPLAIN and CREATE TABLE … AS) or persist an expression (DDL). set
// covers reset, set_config and offset; discard, deallocate and prepare matter to the wire's
// bookkeeping of prepared statements. "do" is matched as a word only: as a substring it is in
// too many names; a DO statement's keyword is always a token of its own.
var prefilterWords = []string{"set", "discard", "u&", "execute", "prepare", "deallocate", "do",
	"function", "procedure", "trigger", "rule", "policy", "index", "statistics", "view"}

// isWordAt reports whether sql[i:i+n] is not part of a longer identifier or keyword. Any byte
// other than an ASCII letter, digit or underscore ends a word here, which errs on the side of
// parsing (`do$x` or `xdo` with a non-ASCII letter before it count as words).
func isWordAt(sql string, i, n int) bool {
	word := func(c byte) bool {
		return c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
	}
	return (i == 0 || !word(sql[i-1])) && (i+n >= len(sql) || !word(sql[i+n]))
}

// needleTable lists lower-case needles by their first byte, with a bitmap of the first two
// bytes so that most bytes of a text cost one bit test.
type needleTable struct {
	byFirst [256][]string
	pairs   [256 * 256 / 64]uint64 // bit c0<<8|c1: some needle starts with c0, c1 (or is c0 alone)
}

var fixedNeedles = *newNeedleTable(prefilterWords)

func newNeedleTable(needles []string) *needleTable {
	var t needleTable
	for _, n := range needles {
		if n == "" {
			continue
		}
		t.byFirst[n[0]] = append(t.byFirst[n[0]], n) // the text's byte is folded with lowerASCII before lookup
		if len(n) == 1 {
			for c1 := 0; c1 < 256; c1++ {
				t.setPair(n[0], byte(c1))
			}
			continue
		}
		t.setPair(n[0], n[1])
	}
	return &t
}

func (t *needleTable) setPair(c0, c1 byte) {
	k := uint(c0)<<8 | uint(c1)
	t.pairs[k/64] |= 1 << (k % 64)
}

func (t *needleTable) pair(c0, c1 byte) bool {
	k := uint(c0)<<8 | uint(c1)
	return t.pairs[k/64]&(1<<(k%64)) != 0
}

// hasPrefixFold reports whether s starts with the lower-case ASCII needle, ignoring ASCII case.
func hasPrefixFold(s, needle string) bool {
	if len(s) < len(needle) {
		return false
	}
	for j := 1; j < len(needle); j++ {
		if lowerASCII(s[j]) != needle[j] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII needle, ignoring ASCII case.
// (Identifiers only fold ASCII letters in PostgreSQL, so ASCII folding is exact here.)
func containsFold(s, needle string) bool {
	n := len(needle)
	if n == 0 {
		return true
	}
	first := needle[0]
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerASCII(s[i+j]) == needle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
