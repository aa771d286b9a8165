package seal

import (
	"testing"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

func TestIsUTF8(t *testing.T) {
	for in, want := range map[string]bool{
		"UTF8": true, "utf8": true, "UTF-8": true, "utf_8": true, "Unicode": true,
		"SJIS": false, "LATIN1": false, "SQL_ASCII": false, "": false, "utf16": false,
	} {
		if got := isUTF8(in); got != want {
			t.Errorf("isUTF8(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestReadsAsSent(t *testing.T) {
	for in, want := range map[string]bool{
		"UTF8": true, "unicode": true, "SQL_ASCII": true, "sql-ascii": true,
		"SJIS": false, "LATIN1": false, "EUC_JP": false, "": false, "ascii": false,
	} {
		if got := readsAsSent(in); got != want {
			t.Errorf("readsAsSent(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSCSSensitive(t *testing.T) {
	for in, want := range map[string]bool{
		`select 'a'`: false, `select 'a\b'`: true, `select E'\n'`: true, `select U&'x'`: true,
		`select u&'x'`: true, `select U&"x"`: false, `select 1 & 2`: false, `select a&'b'`: false,
		`select x&`: false, `&'`: false,
	} {
		if got := scsSensitive(in); got != want {
			t.Errorf("scsSensitive(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBoolOn(t *testing.T) {
	for in, want := range map[string]bool{
		"on": true, "ON": true, "true": true, "t": true, "tr": true, "yes": true, "y": true, "1": true,
		"off": false, "of": false, "o": false, "false": false, "no": false, "0": false, "": false, "x": false,
	} {
		if got := boolOn(in); got != want {
			t.Errorf("boolOn(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckLexical(t *testing.T) {
	set := func(name, v string) rewrite.SettingChange {
		return rewrite.SettingChange{Kind: rewrite.SettingSet, Name: name, Value: v}
	}
	good := lexical{encoding: "UTF8", scs: true, resetEncoding: "UTF8", resetSCS: true}
	badReset := lexical{encoding: "UTF8", scs: true, resetEncoding: "SJIS", resetSCS: false}
	cases := []struct {
		name   string
		l      lexical
		sc     rewrite.SettingChange
		known  bool
		refuse bool
	}{
		{"SET client_encoding UTF8", good, set("client_encoding", "UTF8"), true, false},
		{"SET client_encoding 'utf-8'", good, set("client_encoding", "utf-8"), true, false},
		{"SET client_encoding unicode", good, set("client_encoding", "unicode"), true, false},
		{"SET client_encoding SJIS", good, set("client_encoding", "SJIS"), true, true},
		{"SET LOCAL client_encoding SJIS", good, rewrite.SettingChange{Kind: rewrite.SettingSetLocal, Name: "client_encoding", Value: "SJIS"}, true, true},
		{"SET standard_conforming_strings off", good, set("standard_conforming_strings", "off"), true, false},
		{"SET client_encoding SQL_ASCII", good, set("client_encoding", "sql_ascii"), true, false},
		{"SET standard_conforming_strings on", good, set("standard_conforming_strings", "on"), true, false},
		{"SET other to anything", good, set("application_name", "SJIS"), true, false},
		{"set_config client_encoding $1 at Parse", good, rewrite.SettingChange{Kind: rewrite.SettingSet, Name: "client_encoding", ValueParam: 1}, false, false},
		{"set_config client_encoding $1 at Bind", good, rewrite.SettingChange{Kind: rewrite.SettingSet, Name: "client_encoding", ValueParam: 1, Value: "SJIS"}, true, true},
		{"set_config client_encoding computed", good, rewrite.SettingChange{Kind: rewrite.SettingSet, Name: "client_encoding", Dynamic: true}, true, true},
		{"RESET client_encoding to UTF8", good, rewrite.SettingChange{Kind: rewrite.SettingReset, Name: "client_encoding"}, true, false},
		{"RESET client_encoding to SJIS", badReset, rewrite.SettingChange{Kind: rewrite.SettingReset, Name: "client_encoding"}, true, true},
		{"RESET ALL to scs off", badReset, rewrite.SettingChange{Kind: rewrite.SettingResetAll}, true, true},
		{"DISCARD ALL", good, rewrite.SettingChange{Kind: rewrite.SettingDiscardAll}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pe := c.l.checkLexical([]rewrite.SettingChange{c.sc}, c.known)
			if (pe != nil) != c.refuse {
				t.Fatalf("checkLexical = %v, want refusal %v", pe, c.refuse)
			}
			if pe != nil && pe.Code != sqlstate.FeatureNotSupported {
				t.Fatalf("code = %s, want 0A000", pe.Code)
			}
		})
	}
}

func TestAllowWhileUnsafe(t *testing.T) {
	setPlan := &rewrite.Plan{Statements: []*rewrite.Statement{{Kind: rewrite.StmtSet}}}
	selPlan := &rewrite.Plan{Statements: []*rewrite.Statement{{Kind: rewrite.StmtSelect}}}
	cases := []struct {
		sql  string
		plan *rewrite.Plan
		want bool
	}{
		{"SET client_encoding TO 'UTF8'", setPlan, true},
		{"SET x = 'a\\'", setPlan, false},
		{"SET x = '\xc3\x81'", setPlan, false},
		{"SELECT 1", selPlan, false},
		{"SELECT 1", &rewrite.Plan{}, false},
	}
	for _, c := range cases {
		if got := allowWhileUnsafe(c.sql, c.plan); got != c.want {
			t.Errorf("allowWhileUnsafe(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

func TestExecNames(t *testing.T) {
	var e execNames
	p1 := e.tick() // PREPARE s1 sent
	e.confirm("s1", p1)
	if !e.safe["s1"] {
		t.Fatal("confirmed PREPARE s1 is not safe")
	}
	p2 := e.tick() // PREPARE s2 sent, then a Parse s2 before its confirmation
	e.remove("s2")
	e.confirm("s2", p2)
	if e.safe["s2"] {
		t.Fatal("a PREPARE confirmed after a later Parse of its name made it safe")
	}
	e.remove("s1")
	if e.safe["s1"] {
		t.Fatal("s1 still safe after its removal")
	}
	p3 := e.tick()
	e.removeAll()
	e.confirm("s3", p3)
	if e.safe["s3"] {
		t.Fatal("a PREPARE sent before DEALLOCATE ALL became safe")
	}
	e.confirm("s4", 0)
	if e.safe["s4"] {
		t.Fatal("a name without a PREPARE tick became safe")
	}
}
