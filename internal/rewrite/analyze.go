package rewrite

import (
	"sort"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// Analyze decides what must happen to sql so that encrypted columns of s only ever hold
// ciphertext: which parameters and literals to encrypt or turn into equality terms, which text to
// rewrite, which result columns to decrypt and which settings the statements change. It does no
// I/O, is deterministic and is safe for concurrent use. Errors are *Error.
func Analyze(sql string, s *Schema) (*Plan, error) {
	p := &Plan{SQL: sql}
	if !mayMatter(sql, s) {
		return p, nil
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, syntaxError(sql, err)
	}
	a := &analyzer{sql: sql, schema: s, plan: p}
	for _, raw := range tree.Stmts {
		if err := a.statement(raw); err != nil {
			return nil, err
		}
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// analyzer carries the state of one Analyze call.
type analyzer struct {
	sql    string
	schema *Schema
	plan   *Plan
	toks   *tokens // scanned lazily: only statements that need edits pay for it
	params map[int]paramUse
	stmt   *Statement // the statement being analysed
	seen   seenSet    // nodes the precise walk examined in stmt (coverage.go)
	// inListArray is set while the items of an IN list of two or more values are analysed.
	inListArray bool
	inListOp    string // the operator of the IN list being analysed: = (IN) or <> (NOT IN)
	// LIKE on match columns (match.go, matchctx.go): the conditions of the statement where it is
	// exact, why it is not elsewhere, whether the statement is a plain EXPLAIN (no filters), and
	// the rewritten conditions waiting for their hidden outputs.
	likeOK      map[*pg.A_Expr]bool
	likeReason  string
	likeExplain bool
	likes       []pendingLike
}

// maxParams is the most parameters a Bind message can carry (an int16 count).
const maxParams = 65535

type paramUse struct {
	p   Param
	pos int
}

func (a *analyzer) tokens() *tokens {
	if a.toks == nil {
		t, err := scan(a.sql)
		if err != nil {
			// The text parsed, so the scanner cannot fail on it; an empty token list makes every
			// span lookup fail, which refuses the statement.
			t = &tokens{sql: a.sql}
		}
		a.toks = t
	}
	return a.toks
}

// statement analyses one raw statement.
func (a *analyzer) statement(raw *pg.RawStmt) error {
	start := int(raw.StmtLocation)
	end := len(a.sql)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	st := &Statement{Start: start, End: end}
	a.plan.Statements = append(a.plan.Statements, st)
	a.stmt = st
	a.seen = nil
	a.likeOK, a.likeReason, a.likeExplain, a.likes = nil, "", false, nil
	facts := collect(raw.Stmt, a.schema)
	if facts.refused != nil {
		return facts.refused
	}
	if err := a.preparedFacts(raw.Stmt, &facts, start); err != nil {
		return err
	}
	a.catalogEdits(raw.Stmt)
	if facts.maxParam > maxParams {
		// Params has one entry per $N up to the highest: $701666666667 must not allocate that many.
		return unsupportedf(start, "parameter numbers above %d are not supported", maxParams)
	}
	for n := 1; n <= facts.maxParam; n++ {
		a.noteParamSeen(n)
	}
	if err := a.settingsFromCalls(facts.setConfigs); err != nil {
		return err
	}
	if err := a.dispatch(raw.Stmt, facts.mentions, start); err != nil {
		return err
	}
	if !facts.mentions {
		return nil
	}
	return a.checkCoverage(facts.watched, start)
}

// noteParamSeen makes sure Params is long enough for $n without deciding its kind.
func (a *analyzer) noteParamSeen(n int) {
	for len(a.plan.Params) < n {
		a.plan.Params = append(a.plan.Params, Param{Kind: ParamPass})
	}
}

// useParam records what $n must become; a parameter used as two different things is refused.
func (a *analyzer) useParam(n int, p Param, pos int) error {
	if n < 1 {
		return unsupportedf(pos, "parameter $%d is not supported", n)
	}
	a.noteParamSeen(n)
	if a.params == nil {
		a.params = map[int]paramUse{}
	}
	if prev, ok := a.params[n]; ok {
		if prev.p.Kind != p.Kind || prev.p.Column.idOrEmpty() != p.Column.idOrEmpty() || prev.p.Cast != p.Cast || prev.p.CastLen != p.CastLen {
			c := p.Column
			if c == nil {
				c = prev.p.Column
			}
			return unsupported(c, "using parameter $"+itoa(n)+" for two different purposes", pos)
		}
		return nil
	}
	a.params[n] = paramUse{p: p, pos: pos}
	a.plan.Params[n-1] = p
	if p.Column != nil {
		a.stmt.Touches = true
		a.stmt.Terms = a.stmt.Terms || p.Kind != ParamEncrypt || p.Column.searchable()
	}
	return nil
}

func (c *Column) idOrEmpty() string {
	if c == nil {
		return ""
	}
	return c.id()
}

// addEdit records a text edit; overlaps are checked in finish.
func (a *analyzer) addEdit(e Edit) {
	a.plan.Edits = append(a.plan.Edits, e)
	if e.Column != nil {
		a.stmt.Touches = true
		a.stmt.Terms = a.stmt.Terms || e.Kind != EditEncrypt || e.Column.searchable()
	}
}

// finish sorts the edits and refuses overlapping ones (which would mean two decisions about the
// same text, a bug we must not render).
func (a *analyzer) finish() error {
	e := a.plan.Edits
	sort.SliceStable(e, func(i, j int) bool { return e[i].Start < e[j].Start })
	for i := 1; i < len(e); i++ {
		if e[i].Start < e[i-1].End {
			return unsupportedf(e[i].Start, "overlapping rewrites in one statement are not supported")
		}
	}
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
