package rewrite

// MayMatter reports whether Analyze would parse sql under s: when false its plan is empty and
// costs nothing to make again, so callers need not cache it.
func MayMatter(sql string, s *Schema) bool { return mayMatter(sql, s) }

// mayMatter reports whether sql could touch an encrypted table or change a setting. It is a
// conservative byte scan, so that the common query pays no parse: false only when the text
// contains no encrypted table name, no U& identifier and none of the words set/reset/discard
// (set_config and reset contain "set"), all case-insensitively. When unsure it says true.
func mayMatter(sql string, s *Schema) bool {
	if containsFold(sql, "set") || containsFold(sql, "discard") || containsFold(sql, "u&") {
		return true
	}
	if s == nil {
		return false
	}
	for _, n := range s.encryptedNames() {
		if containsFold(sql, n) {
			return true
		}
	}
	return false
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
