package migrate

import "strings"

// replaceAlias rewrites a "t."-qualified expression for another row alias.
func replaceAlias(expr, from, to string) string { return strings.ReplaceAll(expr, from, to) }

// firstWords shortens a statement for an error message.
func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 4 {
		f = f[:4]
	}
	return strings.Join(f, " ")
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullIfNullJSON(b []byte) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}
