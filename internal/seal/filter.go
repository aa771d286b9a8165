package seal

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// LIKE on match columns (docs/search.md §4). The server narrows the rows with the match tokens;
// pgseal decides each row exactly after decrypting the hidden trailing columns rewrite appended,
// drops the rows that do not match, strips the hidden columns and counts only the rows it sent.

// rowFilter is one Filter of a statement with its pattern resolved for one execution.
type rowFilter struct {
	pos  int
	not  bool
	null bool               // a NULL pattern: the condition is NULL, so no row passes
	like column.LikePattern // the pattern, parsed once for every row
}

// filterSet is an execution's filters; nil when the statement has none.
type filterSet []rowFilter

// compileFilters resolves st's filters: constant patterns from the plan, parameters from m (nil
// for a simple Query). A pattern PostgreSQL would reject is refused here, before the statement runs.
func (ss *Session) compileFilters(st *rewrite.Statement, m *pgproto3.Bind, vs *value.Session) (filterSet, *sqlstate.Error) {
	if st == nil || len(st.Filters) == 0 {
		return nil, nil
	}
	out := make(filterSet, 0, len(st.Filters))
	for _, f := range st.Filters {
		rf, pattern, fold := rowFilter{pos: f.Position, not: f.Not}, f.Pattern, column.FoldNone
		if f.ILike {
			fold = ss.ilikeFold()
		}
		if f.Param > 0 {
			var pe *sqlstate.Error
			if pattern, rf.null, pe = bindPattern(m, f.Param, vs); pe != nil {
				return nil, pe
			}
		}
		rf.like = column.CompileLike(pattern, filterEscape(f), fold)
		if !rf.null && rf.like.EndsInEscape() {
			// PostgreSQL raises this only for a row whose matching reaches the end; pgseal
			// cannot know which rows would, so it refuses the pattern up front.
			return nil, &sqlstate.Error{Code: sqlstate.InvalidEscapeSequence, Message: "LIKE pattern must not end with escape character"}
		}
		out = append(out, rf)
	}
	return out, nil
}

func filterEscape(f rewrite.Filter) column.Escape {
	switch {
	case f.NoEscape:
		return column.Escape{None: true}
	case f.Escape != "":
		r, _ := utf8.DecodeRuneInString(f.Escape)
		return column.Escape{Char: r}
	}
	return column.DefaultEscape
}

// ilikeFold is how ILIKE folds case in this database: PostgreSQL lowers with the collation's
// LC_CTYPE, ASCII-only under C and POSIX, per character otherwise.
func (ss *Session) ilikeFold() column.Fold {
	if ent := ss.cat.Load(); ent != nil && ent.info != nil && ent.info.CTypeIsC {
		return column.FoldASCII
	}
	return column.FoldUnicode
}

// bindPattern reads pattern parameter $n of a Bind as text.
func bindPattern(m *pgproto3.Bind, n int, vs *value.Session) (string, bool, *sqlstate.Error) {
	if m == nil {
		return "", false, &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal: LIKE pattern parameter without a Bind"}
	}
	v, null, ok := bindParam(m, n)
	if !ok {
		return "", false, &sqlstate.Error{Code: sqlstate.ProtocolViolation, Message: fmt.Sprintf("bind message supplies no parameter $%d", n)}
	}
	if null {
		return "", true, nil
	}
	plain, err := value.Encode(nil, value.Text, paramFormat(m, n), v, vs)
	if err != nil {
		return "", false, paramRefusal(n, err)
	}
	return string(plain[1:]), false, nil
}

// keep decides the filters at result position pos for one decrypted value (value.Encode form:
// tag byte, then the text). It reports whether the row may still be sent. buf is the calling
// goroutine's scratch for the value's characters.
func (fs filterSet) keep(pos int, plain []byte, buf *[]rune) bool {
	for _, f := range fs {
		if f.pos != pos {
			continue
		}
		if f.null || len(plain) == 0 {
			return false
		}
		ok, b, err := f.like.Match(plain[1:], *buf)
		*buf = b
		if err != nil || ok == f.not {
			return false
		}
	}
	return true
}

// nullKept reports whether the row's NULLs leave it sendable: a filter on a NULL value is NULL.
func (fs filterSet) nullKept(vals [][]byte) bool {
	for _, f := range fs {
		if f.pos >= len(vals) || vals[f.pos] == nil {
			return false
		}
	}
	return true
}

// patternTokens is what pattern parameter $n becomes: the text of its token array. Tokens are a necessary condition of a match, so they are sent only
// when every filter reading the pattern is a LIKE/ILIKE with one escape; otherwise (a NOT form,
// whose condition pgseal decides alone) an empty array, which filters nothing.
func patternTokens(stmts []*rewrite.Statement, n int, pattern string, col *column.Column, ks keysetRef) (string, error) {
	var first *rewrite.Filter
	same := true
	for _, s := range stmts {
		for i, f := range s.Filters {
			if f.Param != n {
				continue
			}
			if first == nil {
				first = &s.Filters[i]
			}
			same = same && !f.Not && f.Escape == first.Escape && f.NoEscape == first.NoEscape
		}
	}
	if first == nil || !same {
		return "{}", nil
	}
	toks, err := col.PatternTokens(ks.ks, pattern, filterEscape(*first))
	if err != nil {
		return "", keyError(err)
	}
	if !tokensOK(toks) {
		return "", errBadTokens
	}
	return toks, nil
}

// matchParam turns pattern parameter $n (format f) into the text of its token array.
func matchParam(plan *rewrite.Plan, n int, col *column.Column, ks keysetRef, f int16, v []byte, vs *value.Session) ([]byte, error) {
	plain, err := value.Encode(nil, value.Text, f, v, vs)
	if err != nil {
		return nil, err
	}
	toks, err := patternTokens(plan.Statements, n, string(plain[1:]), col, ks)
	return []byte(toks), err
}

// matchLiteral renders a pattern literal (EditMatch) as a text[] literal of its tokens: empty
// for the NOT forms, whose condition pgseal decides alone.
func matchLiteral(e rewrite.Edit, se *stmtExec, col *column.Column) (string, error) {
	if e.Not {
		return "'{}'::text[]", nil
	}
	esc := filterEscape(rewrite.Filter{Escape: e.Escape, NoEscape: e.NoEscape})
	toks, err := col.PatternTokens(se.ks.ks, e.Literal, esc)
	if err != nil {
		return "", keyError(err)
	}
	if !tokensOK(toks) {
		return "", errBadTokens
	}
	return "'" + toks + "'::text[]", nil
}

var errBadTokens = &sqlstate.Error{Code: sqlstate.InternalError, Message: "internal error in pgseal: malformed match tokens"}

// tokensOK: tokens are [0-9a-fk] only; with the braces and commas, nothing needs quoting.
func tokensOK(toks string) bool {
	return !strings.ContainsFunc(toks, func(r rune) bool { return !strings.ContainsRune("{},0123456789abcdefk", r) })
}

// filteredTag is CommandComplete's tag with the rows pgseal dropped taken off its count
// ("SELECT n"), so that the client's row count is the rows it received.
func filteredTag(tag string, dropped int) string {
	if dropped == 0 {
		return tag
	}
	verb, count, ok := strings.Cut(tag, " ")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || verb != "SELECT" {
		return tag
	}
	return verb + " " + strconv.Itoa(max(n-dropped, 0))
}
