package rewrite

import (
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// tokens wraps the scanner output. Parse nodes carry only a start location; the scanner tells
// where a constant, column reference or type name ends.
type tokens struct {
	sql  string
	toks []*pg.ScanToken
}

func scan(sql string) (*tokens, error) {
	r, err := pg.Scan(sql)
	if err != nil {
		return nil, err
	}
	t := &tokens{sql: sql, toks: r.Tokens}
	t.fixUnicode()
	return t, nil
}

// fixUnicode repairs U&'…' and U&"…" tokens: the scanner reports their end after unescaping,
// which is wrong. We lex the quoted part ourselves; an optional UESCAPE 'c' (separate tokens)
// joins the string. When the text is not what we expect (e.g. a string continued on the next
// line) the token gets an empty span, and every lookup that needs it refuses the statement.
func (t *tokens) fixUnicode() {
	for i, tok := range t.toks {
		if tok.Token != pg.Token_USCONST && tok.Token != pg.Token_UIDENT {
			continue
		}
		end, ok := quotedEnd(t.sql, int(tok.Start)+2)
		next := len(t.sql)
		if i+1 < len(t.toks) {
			next = int(t.toks[i+1].Start)
		}
		if ok && end <= next && !strings.ContainsAny(t.sql[end:next], `'"`) {
			tok.End = int32(end)
			continue
		}
		tok.End = tok.Start
	}
}

// quotedEnd returns the end of the quoted text starting at i (quote doubled to escape it).
func quotedEnd(s string, i int) (int, bool) {
	if i >= len(s) || (s[i] != '\'' && s[i] != '"') {
		return 0, false
	}
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if j+1 < len(s) && s[j+1] == q {
			j++
			continue
		}
		return j + 1, true
	}
	return 0, false
}

// at returns the index of the token starting at byte offset loc, or -1.
func (t *tokens) at(loc int) int {
	i := sort.Search(len(t.toks), func(i int) bool { return int(t.toks[i].Start) >= loc })
	if i < len(t.toks) && int(t.toks[i].Start) == loc {
		return i
	}
	return -1
}

func (t *tokens) text(i int) string {
	if i < 0 || i >= len(t.toks) {
		return ""
	}
	return t.sql[t.toks[i].Start:t.toks[i].End]
}

func (t *tokens) lower(i int) string { return strings.ToLower(t.text(i)) }

func (t *tokens) end(i int) int { return int(t.toks[i].End) }

// constEnd returns where the constant starting at loc ends; a negative number starts at '-'.
func (t *tokens) constEnd(loc int) (int, bool) {
	i := t.at(loc)
	if i < 0 {
		return 0, false
	}
	if t.text(i) == "-" && i+1 < len(t.toks) {
		i++
	}
	if t.toks[i].End == t.toks[i].Start {
		return 0, false
	}
	if t.toks[i].Token == pg.Token_USCONST && i+2 < len(t.toks) && t.toks[i+1].Token == pg.Token_UESCAPE {
		i += 2
	}
	return t.end(i), true
}

// colRefEnd returns where a column reference of n dotted fields starting at loc ends.
func (t *tokens) colRefEnd(loc, n int) (int, bool) {
	i := t.at(loc)
	if i < 0 || i+2*(n-1) >= len(t.toks) {
		return 0, false
	}
	for j := i; j <= i+2*(n-1); j++ {
		if t.toks[j].End == t.toks[j].Start {
			return 0, false
		}
	}
	i += 2 * (n - 1)
	return t.end(i), true
}

// closeParen returns the index of the ')' matching the '(' at or after token i.
func (t *tokens) closeParen(i int) int {
	depth := 0
	for ; i < len(t.toks); i++ {
		switch t.text(i) {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// typeEnd returns where the type name starting at loc ends. It understands dotted names, the
// multi-word SQL spellings, type modifiers and array bounds.
func (t *tokens) typeEnd(loc int) (end int, ok bool) {
	i := t.at(loc)
	if i < 0 {
		return 0, false
	}
	first := i
	defer func() {
		for j := first; j <= i && j < len(t.toks); j++ {
			if t.toks[j].End == t.toks[j].Start {
				ok = false
			}
		}
	}()
	for i+2 < len(t.toks) && t.text(i+1) == "." {
		i += 2
	}
	i = t.multiWord(i)
	if t.text(i+1) == "(" {
		if j := t.closeParen(i + 1); j > 0 {
			i = j
		}
	}
	i = t.timeZone(i)
	for t.text(i+1) == "[" || t.lower(i+1) == "array" {
		if t.lower(i+1) == "array" {
			i++
			if t.text(i+1) != "[" {
				break
			}
		}
		if j := t.closeParen(i + 1); j > 0 {
			i = j
		} else {
			break
		}
	}
	return t.end(i), true
}

// multiWord consumes the second words of double precision, character varying, bit varying.
func (t *tokens) multiWord(i int) int {
	switch t.lower(i) {
	case "double":
		if t.lower(i+1) == "precision" {
			return i + 1
		}
	case "national":
		if w := t.lower(i + 1); w == "character" || w == "char" {
			i++
		}
		fallthrough
	case "character", "char", "nchar", "bit":
		if t.lower(i+1) == "varying" {
			return i + 1
		}
	}
	return i
}

// timeZone consumes "with[out] time zone" after timestamp/time (and their modifiers).
func (t *tokens) timeZone(i int) int {
	if w := t.lower(i + 1); (w == "with" || w == "without") && t.lower(i+2) == "time" && t.lower(i+3) == "zone" {
		return i + 3
	}
	return i
}

// ident returns the identifier value of token i: unquoted names fold to lower case, quoted ones
// lose their quotes. ok is false for anything else (including U&"…" which we do not decode).
func (t *tokens) ident(i int) (string, bool) {
	s := t.text(i)
	if s == "" {
		return "", false
	}
	if s[0] == '"' && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`), true
	}
	if strings.HasPrefix(strings.ToLower(s), "u&") {
		return "", false
	}
	c := s[0]
	if c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z') {
		return strings.ToLower(s), true
	}
	return "", false
}
