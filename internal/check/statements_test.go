package check

import (
	"reflect"
	"strings"
	"testing"
)

const sampleLog = `2026-12-06 10:00:00.001 UTC [101] LOG:  database system is ready to accept connections
2026-12-06 10:00:01.000 UTC [202] app@shop LOG:  statement: SELECT id FROM users WHERE email = 'a@example.com'
2026-12-06 10:00:01.100 UTC [202] app@shop LOG:  statement: BEGIN; UPDATE users
	SET name = 'Zed;still'
	WHERE id = 7; COMMIT
2026-12-06 10:00:01.200 UTC [203] app@shop LOG:  execute <unnamed>: SELECT id, email FROM users WHERE email = $1
2026-12-06 10:00:01.200 UTC [203] app@shop DETAIL:  parameters: $1 = 'secret@example.com'
2026-12-06 10:00:01.300 UTC [203] app@shop LOG:  execute S_1: INSERT INTO users (email)
	VALUES ($1)
2026-12-06 10:00:01.400 UTC [203] app@shop LOG:  execute <unnamed>: SELECT id, email FROM users WHERE email = $1
2026-12-06 10:00:01.500 UTC [204] app@shop ERROR:  relation "nope" does not exist at character 15
2026-12-06 10:00:01.500 UTC [204] app@shop STATEMENT:  SELECT * FROM nope
2026-12-06 10:00:01.600 UTC [204] app@shop LOG:  duration: 0.250 ms  statement: SELECT 1
2026-12-06 10:00:01.700 UTC [205] app@shop LOG:  statement: SELECT id FROM users WHERE email = 'a@example.com'
2026-12-06 10:00:01.800 UTC [205] app@shop LOG:  disconnection: session time: 0:00:01.000
`

func TestParseLog(t *testing.T) {
	if !IsLog([]byte(sampleLog)) {
		t.Fatal("IsLog() = false")
	}
	got := ParseLog([]byte(sampleLog))
	want := []Statement{
		{SQL: "SELECT id FROM users WHERE email = 'a@example.com'", Proto: ProtoQuery, Calls: 2, Source: SourceLog},
		{SQL: "BEGIN", Proto: ProtoQuery, Calls: 1, Source: SourceLog},
		{SQL: "UPDATE users\nSET name = 'Zed;still'\nWHERE id = 7", Proto: ProtoQuery, Calls: 1, Source: SourceLog},
		{SQL: "COMMIT", Proto: ProtoQuery, Calls: 1, Source: SourceLog},
		{SQL: "SELECT id, email FROM users WHERE email = $1", Proto: ProtoParse, Calls: 2, Source: SourceLog},
		{SQL: "INSERT INTO users (email)\nVALUES ($1)", Proto: ProtoParse, Calls: 1, Source: SourceLog},
		{SQL: "SELECT 1", Proto: ProtoQuery, Calls: 1, Source: SourceLog},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLog() =\n%+v\nwant\n%+v", got, want)
	}
	if IsLog([]byte("SELECT 1;\nSELECT 2;\n")) {
		t.Error("IsLog(plain SQL) = true")
	}
}

func TestSplitSQL(t *testing.T) {
	for in, want := range map[string][]string{
		"SELECT 1; SELECT 2;":               {"SELECT 1", "SELECT 2"},
		"SELECT ';'; -- c;\nSELECT $x$;$x$": {"SELECT ';'", "-- c;\nSELECT $x$;$x$"},
		"  ;; -- only a comment\n;":         nil,
		"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f()": {"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT f()"},
		"SELECT 1; SELECT 'open": {"SELECT 1", "SELECT 'open"},
	} {
		if got := SplitSQL(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitSQL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSplit: the splitter and the log parser never panic, never return an empty statement, and
// every statement they return is a piece of the input (continuation tabs aside for the log).
func FuzzSplit(f *testing.F) {
	f.Add(sampleLog)
	f.Add(maskFile)
	f.Add("SELECT 1; SELECT 'a;b'; DO $$ BEGIN; END $$;")
	f.Add("x LOG:  statement: SELECT 1\n\tFROM t\n")
	f.Add("SELECT 'open; SELECT 2;")
	f.Fuzz(func(t *testing.T, in string) {
		for _, s := range SplitSQL(in) {
			if strings.TrimSpace(s) == "" || !strings.Contains(in, s) {
				t.Fatalf("SplitSQL(%q) returned %q", in, s)
			}
			_ = Mask(s)
		}
		for _, st := range ParseLog([]byte(in)) {
			if strings.TrimSpace(st.SQL) == "" || st.Calls < 1 {
				t.Fatalf("ParseLog(%q) returned %+v", in, st)
			}
			flat := strings.ReplaceAll(in, "\n\t", "\n")
			if !strings.Contains(flat, st.SQL) && !strings.Contains(strings.ReplaceAll(flat, "\r", ""), st.SQL) {
				t.Fatalf("ParseLog(%q) returned %q, not from the input", in, st.SQL)
			}
		}
	})
}
