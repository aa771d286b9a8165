package check

import (
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// unmaskable stands in for a statement whose literals cannot be found (it does not lex).
const unmaskable = "(statement not shown: it cannot be scanned, so its literals cannot be masked)"

// constToken reports whether a scanner token is a constant (a literal value).
func constToken(t pg.Token) bool {
	switch t {
	case pg.Token_SCONST, pg.Token_USCONST, pg.Token_ICONST, pg.Token_FCONST, pg.Token_BCONST, pg.Token_XCONST:
		return true
	}
	return false
}

// Mask returns sql with every literal value replaced: pg_query's normalize turns constants into
// $n, then any constant token left (normalize keeps some, e.g. in utility statements and DO
// bodies) becomes '?'. Comments are dropped and white space collapsed. A text the scanner
// rejects is not shown at all.
func Mask(sql string) string {
	if n, err := pg.Normalize(sql); err == nil {
		sql = n
	}
	sc, err := pg.Scan(sql)
	if err != nil {
		return unmaskable
	}
	var sb strings.Builder
	prev := 0
	for _, t := range sc.Tokens {
		start, end := int(t.Start), int(t.End)
		if start < prev || end > len(sql) || start > end {
			return unmaskable
		}
		if start > prev && sb.Len() > 0 {
			sb.WriteByte(' ') // white space or a comment between tokens
		}
		switch {
		case t.Token == pg.Token_SQL_COMMENT || t.Token == pg.Token_C_COMMENT:
		case constToken(t.Token):
			sb.WriteByte('?')
		default:
			sb.WriteString(sql[start:end])
		}
		prev = end
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}

// literalsOf returns the texts of sql's literals (as written and without their quotes), longest
// first, for Scrub. ok is false when sql does not lex: then nothing from it may be shown.
func literalsOf(sql string) (lits []string, ok bool) {
	sc, err := pg.Scan(sql)
	if err != nil {
		return nil, false
	}
	for _, t := range sc.Tokens {
		if !constToken(t.Token) || int(t.End) > len(sql) || t.Start > t.End {
			continue
		}
		raw := sql[t.Start:t.End]
		lits = append(lits, raw, unquote(raw))
	}
	sort.Slice(lits, func(i, j int) bool { return len(lits[i]) > len(lits[j]) })
	return lits, true
}

// unquote strips a constant's prefix and quotes: E'…', B'…', X'…', U&'…', '…', $tag$…$tag$.
func unquote(s string) string {
	if i := strings.IndexByte(s, '\''); i >= 0 && strings.HasSuffix(s, "'") && len(s) >= i+2 {
		return strings.ReplaceAll(s[i+1:len(s)-1], "''", "'")
	}
	if strings.HasPrefix(s, "$") {
		if i := strings.Index(s[1:], "$"); i >= 0 {
			tag := s[:i+2]
			if len(s) >= 2*len(tag) && strings.HasSuffix(s, tag) {
				return s[len(tag) : len(s)-len(tag)]
			}
		}
	}
	return s
}

// scrubber replaces the literals of one statement in texts derived from it (refusal messages).
type scrubber struct {
	lits []string
	all  bool // the statement does not lex: replace whole texts
}

func newScrubber(sql string) scrubber {
	lits, ok := literalsOf(sql)
	return scrubber{lits: lits, all: !ok}
}

// Scrub returns s with every literal of the statement replaced by '?'.
func (sc scrubber) Scrub(s string) string {
	if s == "" {
		return s
	}
	if sc.all {
		return "(not shown: it may quote a value of the statement)"
	}
	for _, l := range sc.lits {
		if l != "" {
			s = strings.ReplaceAll(s, l, "?")
		}
	}
	return s
}
