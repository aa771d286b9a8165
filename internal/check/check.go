package check

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/seal"
)

// Options configure a check.
type Options struct {
	Config *config.Config
	DSN    string
	// Statements are checked besides pg_stat_statements' (a --file); Stats false leaves
	// pg_stat_statements out.
	Statements []Statement
	Stats      bool
	// Live analyses configured columns that are not bytea yet as serving does today (plaintext),
	// instead of as encrypted.
	Live bool
	Log  *zap.Logger
}

// Verdicts.
const (
	Passes    = "passes"    // relayed untouched
	Encrypted = "encrypted" // works with encryption (pgseal rewrites, encrypts or decrypts)
	Refused   = "refused"
)

// Result is the verdict on one statement. Statement is masked; no field holds a literal value.
type Result struct {
	Statement string `json:"statement"`
	Source    string `json:"source"`
	Protocol  string `json:"protocol"`
	Calls     int64  `json:"calls"`
	Verdict   string `json:"verdict"`
	SQLState  string `json:"sqlstate,omitempty"`
	Column    string `json:"column,omitempty"`
	Construct string `json:"construct,omitempty"`
	Message   string `json:"message,omitempty"`
	Hint      string `json:"hint,omitempty"`
	// PgsealForm: the recorded text was pgseal's own rewritten form, checked as the application
	// sent it (unrewrite).
	PgsealForm bool `json:"pgseal_form,omitempty"`
}

// Report is a check's outcome.
type Report struct {
	Statements        int      `json:"statements"`
	WorkingStatements int      `json:"working_statements"`
	RefusedStatements int      `json:"refused_statements"`
	Calls             int64    `json:"calls"`
	WorkingCalls      int64    `json:"working_calls"`
	WorkingPercent    float64  `json:"working_calls_percent"`
	Results           []Result `json:"results"`
	// Simulated are configured columns that are not bytea yet, analysed as encrypted.
	Simulated []string `json:"simulated_encrypted,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// Run checks the statements of o against the configuration and the database's catalog.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Config == nil || len(o.Config.Encrypt) == 0 {
		return nil, errors.New("no [[encrypt]] columns are configured: every statement would pass through untouched")
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	conn, err := connect(ctx, o.Config, o.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rep := &Report{Results: []Result{}}
	stmts := o.Statements
	if o.Stats {
		st, skipped, hidden, err := readStats(ctx, conn)
		switch {
		case errors.Is(err, ErrNoStatStatements) && len(o.Statements) > 0:
			rep.Notes = append(rep.Notes, "pg_stat_statements is not available: only --file was checked")
		case err != nil:
			return nil, err
		default:
			stmts = append(st, stmts...)
			if hidden > 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%d pg_stat_statements entries of other roles could not be read: connect as a role with pg_read_all_stats to check them", hidden))
			}
			if skipped > 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%d pg_stat_statements entries left out: pgseal's own queries and utility statements (transaction control, SET/SHOW, LISTEN, …)", skipped))
			}
		}
	}
	s, err := openSession(ctx, o.Config, conn, o.Live, tenantsOf(o.Config, stmts), log)
	if err != nil {
		return nil, err
	}
	defer s.close()
	eqCols := map[string]bool{}
	for _, e := range o.Config.Encrypt {
		if e.HasEq() {
			eqCols[strings.ToLower(e.Column)] = true
		}
	}
	for _, st := range stmts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, checkOne(s, st, eqCols))
	}
	for id := range s.pending {
		rep.Simulated = append(rep.Simulated, id)
	}
	sort.Strings(rep.Simulated)
	rep.total()
	return rep, nil
}

// checkOne runs one statement through the interceptor and describes its verdict.
func checkOne(s *session, st Statement, eqCols map[string]bool) Result {
	r := Result{Statement: Mask(st.SQL), Source: st.Source, Protocol: st.Proto.String(), Calls: st.Calls}
	sql := st.SQL
	if st.Source == SourceStats {
		sql, r.PgsealForm = unrewrite(sql, eqCols)
	}
	v := s.analyse(Statement{SQL: sql, Proto: st.Proto})
	switch {
	case v.Refuse != nil:
		sc := scrubber{}
		if st.Source != SourceStats {
			sc = newScrubber(st.SQL) // normalised texts have no literals
		}
		r.Verdict, r.SQLState = Refused, v.Refuse.Code
		col, construct := parseRefusal(v.Refuse.Message)
		r.Column, r.Construct = sc.Scrub(col), sc.Scrub(construct)
		r.Message = sc.Scrub(v.Refuse.Message)
		r.Hint = sc.Scrub(hintFor(v.Refuse.Code, v.Refuse.Message, construct, v.Refuse.Hint))
	case v.Replace != nil || seal.PlanEncrypts(v.Plan):
		r.Verdict = Encrypted
	default:
		r.Verdict = Passes
	}
	return r
}

func (rep *Report) total() {
	rep.Statements = len(rep.Results)
	for _, r := range rep.Results {
		rep.Calls += r.Calls
		if r.Verdict == Refused {
			rep.RefusedStatements++
			continue
		}
		rep.WorkingStatements++
		rep.WorkingCalls += r.Calls
	}
	rep.WorkingPercent = 100
	if rep.Calls > 0 {
		rep.WorkingPercent = float64(rep.WorkingCalls) * 100 / float64(rep.Calls)
	}
	// Refused first, then by calls.
	sort.SliceStable(rep.Results, func(i, j int) bool {
		a, b := rep.Results[i], rep.Results[j]
		if (a.Verdict == Refused) != (b.Verdict == Refused) {
			return a.Verdict == Refused
		}
		return a.Calls > b.Calls
	})
}

// Summary is the report's one line: "97.4% of calls, 212 of 219 statements would work".
func (rep *Report) Summary() string {
	return fmt.Sprintf("%.1f%% of calls, %d of %d statements would work through pgseal", rep.WorkingPercent, rep.WorkingStatements, rep.Statements)
}

// refusal is the form of the analysis' refusals of a construct on a column.
var refusal = regexp.MustCompile(`^column (.+?) is encrypted: (.+) is not supported$`)

// parseRefusal finds the column and the construct in a refusal message ("column users.email is
// encrypted: LIKE is not supported"); other refusals name no column and are their own construct.
func parseRefusal(msg string) (column, construct string) {
	if m := refusal.FindStringSubmatch(msg); m != nil {
		return m[1], m[2]
	}
	return "", ""
}

// hintFor says what would make a refused statement work, where pgseal's refusal allows an honest
// answer; pgseal's own hint otherwise ("" when it has none).
func hintFor(code, msg, construct, own string) string {
	c := construct
	switch {
	case c == "SIMILAR TO" || strings.HasPrefix(c, "operator ~"):
		return "only LIKE and ILIKE search encrypted text (with `match` in its search); do other pattern matching in the application after reading"
	case c == "LIKE" || c == "ILIKE" || c == "NOT LIKE" || c == "NOT ILIKE":
		return `add "match" to the column's search (and accept_leakage), then run proxy reindex; LIKE then works where pgseal can filter exactly (README, "Range, ORDER BY and LIKE")`
	case c == "ORDER BY" || c == "BETWEEN" || c == "operator <" || c == "operator >" || c == "operator <=" || c == "operator >=" ||
		c == "function min()" || c == "function max()" || strings.HasPrefix(c, "NOT BETWEEN"):
		return `add "ord" to the column's search (and accept_leakage; text_order = "bytes" for text), then run proxy reindex`
	case strings.Contains(c, "(no equality search is configured)"):
		return `add search = ["eq"] to the column's [[encrypt]] entry`
	case strings.Contains(c, "(needs equality search on both in one domain)"):
		return `give both columns search = ["eq"] and the same domain in their [[encrypt]] entries`
	case strings.HasPrefix(c, "a cast to ") || strings.Contains(c, "with a value cast to "):
		return "drop the cast: pgseal reads and compares the column as its configured type"
	case strings.HasPrefix(c, "function ") || c == "operator ||" || c == "COALESCE" || strings.HasPrefix(c, "count(DISTINCT"):
		return "PostgreSQL cannot compute on encrypted values; compute it in the application after reading"
	case strings.Contains(msg, "run it directly against PostgreSQL"):
		return "run it directly against PostgreSQL (schema changes and function bodies do not go through pgseal)"
	case strings.Contains(msg, "PREPARE of a statement"):
		return "prepare it with the extended protocol (the driver's prepared statements) instead of SQL PREPARE"
	}
	return own
}
