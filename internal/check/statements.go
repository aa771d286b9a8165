package check

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// Protocol is how a statement reaches pgseal, which decides how it is analysed.
type Protocol int

const (
	// ProtoParse: an extended-protocol Parse, with $n placeholders (pg_stat_statements' normalised
	// texts, a log's execute lines).
	ProtoParse Protocol = iota
	// ProtoQuery: a simple Query, with its literals (a file's statements, a log's statement lines).
	ProtoQuery
)

func (p Protocol) String() string {
	if p == ProtoParse {
		return "parse"
	}
	return "query"
}

// Statement is one statement to check. SQL is never printed (it may hold literals): reports
// show Mask(SQL).
type Statement struct {
	SQL    string
	Proto  Protocol
	Calls  int64
	Source string // "pg_stat_statements", "file" or "log"
}

// Sources of statements.
const (
	SourceStats = "pg_stat_statements"
	SourceFile  = "file"
	SourceLog   = "log"
)

// logEntry matches the start of a logged statement (log_statement=all, or with a duration from
// log_min_duration_statement / log_duration): "LOG:  statement: …" or "LOG:  execute <name>: …".
// Whatever log_line_prefix wrote comes before it.
var logEntry = regexp.MustCompile(`LOG:  (?:duration: [0-9.]+ ms  )?(statement|execute [^:]*): (.*)$`)

// logLine matches any other line that starts a log message (it ends the statement before it).
var logLine = regexp.MustCompile(`(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|STATEMENT|LOCATION):  `)

// IsLog reports whether data looks like a PostgreSQL log (a line with a logged statement).
func IsLog(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if logEntry.Match(sc.Bytes()) {
			return true
		}
	}
	return false
}

// ParseLog returns the statements of a PostgreSQL log in stderr format written with
// log_statement=all: "statement:" lines are simple Queries (split into their statements),
// "execute <name>:" lines are extended-protocol statements (analysed as a Parse). A message
// continues on the following lines that start with a tab. DETAIL lines (the parameters of an
// execute) are ignored. Identical statements are counted as calls of one.
func ParseLog(data []byte) []Statement {
	var out []Statement
	var cur *strings.Builder
	var proto Protocol
	flush := func() {
		if cur == nil {
			return
		}
		text := cur.String()
		cur = nil
		if proto == ProtoParse {
			if s := strings.TrimSpace(text); s != "" {
				out = append(out, Statement{SQL: s, Proto: ProtoParse, Calls: 1, Source: SourceLog})
			}
			return
		}
		for _, s := range SplitSQL(text) {
			out = append(out, Statement{SQL: s, Proto: ProtoQuery, Calls: 1, Source: SourceLog})
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if cur != nil && strings.HasPrefix(line, "\t") {
			cur.WriteByte('\n')
			cur.WriteString(line[1:])
			continue
		}
		if m := logEntry.FindStringSubmatchIndex(line); m != nil && !logLine.MatchString(line[:m[0]]) {
			flush()
			proto = ProtoQuery
			if strings.HasPrefix(line[m[2]:m[3]], "execute") {
				proto = ProtoParse
			}
			cur = &strings.Builder{}
			cur.WriteString(line[m[4]:m[5]])
			continue
		}
		flush()
	}
	flush()
	return merge(out)
}

// SplitSQL splits a text into its statements at top-level semicolons, with PostgreSQL's own
// scanner (quotes, dollar quotes, comments), and drops empty ones. When the scanner rejects the
// text (an unterminated quote), the longest prefix ending in a ';' that it accepts is split and
// the rest is kept as one statement: the analysis then refuses that one as serving would.
func SplitSQL(text string) []string {
	parts, err := pg.SplitWithScanner(text, true)
	rest := ""
	for cut, tries := len(text), 0; err != nil; tries++ {
		cut = strings.LastIndexByte(text[:cut], ';')
		if cut < 0 || tries == maxSplitRetries {
			parts, rest = nil, text
			break
		}
		parts, err = pg.SplitWithScanner(text[:cut+1], true)
		rest = text[cut+1:]
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !onlyComments(p) {
			out = append(out, p)
		}
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		out = append(out, rest)
	}
	return out
}

// maxSplitRetries bounds SplitSQL's search for a prefix the scanner accepts.
const maxSplitRetries = 256

// onlyComments reports whether s has no token but comments.
func onlyComments(s string) bool {
	sc, err := pg.Scan(s)
	if err != nil {
		return false
	}
	for _, t := range sc.Tokens {
		if t.Token != pg.Token_SQL_COMMENT && t.Token != pg.Token_C_COMMENT {
			return false
		}
	}
	return true
}

// ParseFile returns the statements of a file: a PostgreSQL log (IsLog) or plain SQL.
func ParseFile(data []byte) []Statement {
	if IsLog(data) {
		return ParseLog(data)
	}
	var out []Statement
	for _, s := range SplitSQL(string(data)) {
		out = append(out, Statement{SQL: s, Proto: ProtoQuery, Calls: 1, Source: SourceFile})
	}
	return merge(out)
}

// merge counts identical statements (same text, protocol and source) as calls of one, keeping
// the order of first appearance.
func merge(in []Statement) []Statement {
	type key struct {
		sql, src string
		p        Protocol
	}
	idx := map[key]int{}
	var out []Statement
	for _, s := range in {
		k := key{s.SQL, s.Source, s.Proto}
		if i, ok := idx[k]; ok {
			out[i].Calls += s.Calls
			continue
		}
		idx[k] = len(out)
		out = append(out, s)
	}
	return out
}
