package rewrite

// MayMatter reports whether Analyze would parse sql under s: when false its plan is empty and
// costs nothing to make again, so callers need not cache it.
func MayMatter(sql string, s *Schema) bool { return mayMatter(sql, s) }

// mayMatter reports whether sql could touch an encrypted table or change a setting. It is a
// conservative byte scan, so that the common query pays no parse: false only when the text
// contains no encrypted table name, no U& identifier and none of the words set/reset/discard/
// prepare/execute/deallocate (set_config and reset contain "set"), all case-insensitively. When
// unsure it says true.
func mayMatter(sql string, s *Schema) bool {
	t := &fixedNeedles
	if s != nil {
		s.encryptedNames()
		t = s.needles
	}
	// One pass over the text, trying only the needles that start with the byte at hand.
	for i := 0; i < len(sql); i++ {
		for _, n := range t[lowerASCII(sql[i])] {
			if hasPrefixFold(sql[i:], n) {
				return true
			}
		}
	}
	return false
}

// prefilterWords are the words that may change a setting or hide a table name.
var prefilterWords = []string{"set", "discard", "u&", "prepare", "execute", "deallocate"}

// needleTable lists lower-case needles by their first byte.
type needleTable [256][]string

var fixedNeedles = *newNeedleTable(prefilterWords)

func newNeedleTable(needles []string) *needleTable {
	var t needleTable
	for _, n := range needles {
		if n == "" {
			continue
		}
		t[n[0]] = append(t[n[0]], n) // the text's byte is folded with lowerASCII before lookup
	}
	return &t
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
