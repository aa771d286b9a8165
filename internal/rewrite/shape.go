package rewrite

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Simple-protocol clients put values into the text, so nearly every statement text is new and
// would be parsed again. A Shape is the text with its plain literals cut out; a Template, made
// from the Plan of one text, gives the Plan of any other text of the same shape without parsing.
//
// Soundness rests on three rules. (1) The shape lexer recognises only literals whose token and
// value pg_query's lexer agrees on whatever their content: '…' strings without backslashes and
// unsigned decimal numbers; anything else it does not understand (E'', U&'', $$, hex numbers,
// string continuation, …) makes ShapeOf give up, and the text is analysed as before. A literal's
// class (string, int32, larger integer, decimal) is part of the key, as pg_query gives them
// different node types. (2) Two texts with one key differ only in literal values, so their parse
// trees differ only in constants; NewTemplate accepts only plans whose analysis used no constant's
// value except as an edit's Literal: plain SELECT/INSERT/UPDATE/DELETE without settings, and no
// ORDER BY/GROUP BY position (Plan.valueDep). (3) Every edit's Literal must equal what the shape
// lexer decoded for the template's own text, and no span may cut through a literal; otherwise no
// template is made.

// Literal classes in a shape key (bytes that are no letter, so the prefilter cannot match across one).
const (
	litString  = 1 // '…'
	litInt     = 2 // digits that fit an int32 (pg_query: Integer)
	litBigInt  = 3 // longer digits (pg_query: Float with the text as written)
	litDecimal = 4 // digits.digits (pg_query: Float)
)

// Shape is a SQL text with its literals cut out.
type Shape struct {
	Key  string // the text, each literal replaced by NUL and its class (SQL text has no NUL)
	lits []shapeLit
}

type shapeLit struct {
	start, end int
	class      byte
	value      string // as pg_query decodes it
}

// ShapeOf cuts the literals out of sql. ok is false when the text has no literal or a construct
// the shape lexer leaves to the parser.
func ShapeOf(sql string) (sh Shape, ok bool) {
	if !utf8.ValidString(sql) {
		return Shape{}, false
	}
	var key strings.Builder
	sh.lits = make([]shapeLit, 0, 8)
	prev := 0 // sql[prev:i] is not yet in key
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			i = lineEnd(sql, i)
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			if i, ok = commentEnd(sql, i); !ok {
				return Shape{}, false
			}
		case c == '"':
			end, ok := quotedEnd(sql, i)
			if !ok {
				return Shape{}, false
			}
			i = end
		case c == '\'':
			lit, class, ok := stringLit(sql, i)
			if !ok {
				return Shape{}, false
			}
			sh.lits, prev = addLit(&key, sql, prev, sh.lits, lit, class), lit.end
			i = lit.end
		case c >= '0' && c <= '9':
			lit, class, ok := numberLit(sql, i)
			if !ok {
				return Shape{}, false
			}
			sh.lits, prev = addLit(&key, sql, prev, sh.lits, lit, class), lit.end
			i = lit.end
		case c == '$':
			if i = paramEnd(sql, i); i < 0 {
				return Shape{}, false
			}
		case c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			return Shape{}, false // .5
		case identByte(c):
			for i < len(sql) && identByte(sql[i]) {
				i++
			}
		default:
			i++
		}
	}
	if len(sh.lits) == 0 {
		return Shape{}, false
	}
	key.WriteString(sql[prev:])
	sh.Key = key.String()
	return sh, true
}

// paramEnd returns the end of the parameter $n at sql[i], or -1 for a dollar quote (left to the
// parser).
func paramEnd(sql string, i int) int {
	j := i + 1
	for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
		j++
	}
	if j == i+1 {
		return -1
	}
	return j
}

func addLit(key *strings.Builder, sql string, prev int, lits []shapeLit, lit shapeLit, class byte) []shapeLit {
	if key.Len() == 0 {
		key.Grow(len(sql))
	}
	key.WriteString(sql[prev:lit.start])
	key.WriteByte(0)
	key.WriteByte(class)
	lit.class = class
	return append(lits, lit)
}

// lineEnd returns the end of the -- comment at i.
func lineEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// commentEnd returns the end of the (nested) /* */ comment at i.
func commentEnd(s string, i int) (int, bool) {
	depth := 0
	for i < len(s)-1 {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			depth++
			i += 2
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return 0, false
}

// stringLit reads a '…' literal at i. Prefixed strings (E'…', U&'…', B'…', X'…', N'…', a
// type name glued to the quote), backslashes (their meaning depends on standard_conforming_strings)
// and a string continued by another after white space are left to the parser.
func stringLit(s string, i int) (shapeLit, byte, bool) {
	if i > 0 && (identByte(s[i-1]) || s[i-1] == '&' || s[i-1] == '\'') {
		return shapeLit{}, 0, false
	}
	end, ok := quotedEnd(s, i)
	if !ok || strings.IndexByte(s[i:end], '\\') >= 0 {
		return shapeLit{}, 0, false
	}
	if nextSignificant(s, end) == '\'' {
		return shapeLit{}, 0, false
	}
	return shapeLit{start: i, end: end, value: strings.ReplaceAll(s[i+1:end-1], "''", "'")}, litString, true
}

// nextSignificant returns the first byte after white space and comments from i (0 at the end).
func nextSignificant(s string, i int) byte {
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			i = lineEnd(s, i)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end, ok := commentEnd(s, i)
			if !ok {
				return '/'
			}
			i = end
		default:
			return c
		}
	}
	return 0
}

// numberLit reads digits or digits.digits at i; exponents, other bases, underscores, trailing
// junk and a leading dot are left to the parser.
func numberLit(s string, i int) (shapeLit, byte, bool) {
	if i > 0 && (s[i-1] == '.' || identByte(s[i-1])) {
		return shapeLit{}, 0, false
	}
	j := digitsEnd(s, i)
	class := byte(litInt)
	if j < len(s) && s[j] == '.' {
		k := digitsEnd(s, j+1)
		if k == j+1 {
			return shapeLit{}, 0, false // 1. or 1..
		}
		j, class = k, litDecimal
	}
	if j < len(s) && (identByte(s[j]) || s[j] == '.') {
		return shapeLit{}, 0, false
	}
	text := s[i:j]
	if class == litDecimal {
		return shapeLit{start: i, end: j, value: text}, class, true
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return shapeLit{start: i, end: j, value: text}, litBigInt, true
	}
	if text[0] == '0' && len(text) > 1 {
		text = strconv.Itoa(int(n)) // 007 is 7 to pg_query
	}
	return shapeLit{start: i, end: j, value: text}, litInt, true
}

func digitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Template makes the Plans of the texts of one shape from the Plan of one of them.
type Template struct {
	plan    *Plan
	key     string     // the shape's key
	lits    []shapeLit // the template text's literals (positions)
	editLit []int      // per edit: index of the literal it encrypts, -1 for static edits
}

// NewTemplate returns a template from p, the plan of a text of shape sh under schema s, or false
// when p may depend on a literal's value or the shape cannot hold it (see the rules above). It
// records the shape in p.Shape.
func NewTemplate(p *Plan, sh Shape, s *Schema) (*Template, bool) {
	if p == nil || p.valueDep || len(p.Statements) == 0 || len(sh.lits) == 0 || !mayMatter(sh.Key, s) {
		return nil, false
	}
	t := &Template{plan: p, key: sh.Key, lits: sh.lits, editLit: make([]int, len(p.Edits))}
	for _, st := range p.Statements {
		switch st.Kind {
		case StmtSelect, StmtInsert, StmtUpdate, StmtDelete:
		default:
			return nil, false
		}
		if len(st.Settings) > 0 || st.Copy != nil || st.Cursor != "" || st.Tx != "" ||
			st.PrepareName != "" || st.ExecuteName != "" || st.DeallocateName != "" || st.DeallocateAll ||
			t.inside(st.Start) || t.inside(st.End) {
			return nil, false
		}
	}
	for i, e := range p.Edits {
		if t.inside(e.Start) || t.inside(e.End) {
			return nil, false
		}
		first := t.firstFrom(e.Start) // literals in [Start, End): none for static edits, one for dynamic ones
		n := 0
		for j := first; j < len(t.lits) && t.lits[j].start < e.End; j++ {
			n++
		}
		t.editLit[i] = -1
		if e.Kind == EditStatic || e.Kind == EditKeyset { // no literal of the text in it
			if n != 0 {
				return nil, false
			}
			continue
		}
		if n != 1 || t.lits[first].start != e.Start || t.lits[first].value != e.Literal {
			return nil, false
		}
		t.editLit[i] = first
	}
	p.Shape = sh.Key
	return t, true
}

// inside reports whether pos falls strictly inside a literal of the template text.
func (t *Template) inside(pos int) bool {
	j := t.firstFrom(pos)
	return j > 0 && t.lits[j-1].end > pos
}

// firstFrom returns the index of the first literal starting at or after pos.
func (t *Template) firstFrom(pos int) int {
	return sort.Search(len(t.lits), func(i int) bool { return t.lits[i].start >= pos })
}

// Plan returns the plan of sql, whose shape sh must have the template's key.
func (t *Template) Plan(sql string, sh Shape) *Plan {
	// shift(pos) moves a template offset outside literals by the growth of the literals before it.
	delta := make([]int, len(t.lits)+1) // delta[i]: growth of literals 0..i-1
	for i := range t.lits {
		delta[i+1] = delta[i] + (sh.lits[i].end - sh.lits[i].start) - (t.lits[i].end - t.lits[i].start)
	}
	shift := func(pos int) int { return pos + delta[t.firstFrom(pos)] }
	p := &Plan{SQL: sql, Shape: t.key, Params: t.plan.Params, Statements: make([]*Statement, len(t.plan.Statements))}
	sts := make([]Statement, len(t.plan.Statements))
	for i, st := range t.plan.Statements {
		sts[i] = *st
		sts[i].Start, sts[i].End = shift(st.Start), shift(st.End)
		p.Statements[i] = &sts[i]
	}
	if len(t.plan.Edits) > 0 {
		p.Edits = make([]Edit, len(t.plan.Edits))
		for i, e := range t.plan.Edits {
			e.Start, e.End = shift(e.Start), shift(e.End)
			if j := t.editLit[i]; j >= 0 {
				e.Literal = sh.lits[j].value
			}
			p.Edits[i] = e
		}
	}
	return p
}
