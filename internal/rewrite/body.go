package rewrite

import (
	"slices"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// A DO block or a function or procedure body is code PostgreSQL runs later, out of pgseal's
// sight: `insert into users (note) values ('x')` inside one, or dynamic SQL assembled from
// pieces (`EXECUTE 'insert into us' || 'ers …'`), would store plaintext, and a SET inside one
// would change a setting behind the wire's back. pgseal does not analyse bodies; when the schema
// has encrypted tables it refuses (0A000) every body that could do any of this, by a
// case-insensitive substring test on the body text: a name of a table with encrypted columns or
// of an encrypted column, `execute` (dynamic SQL), `set_config`, `reset`, `u&` (a name spelt
// with Unicode escapes) or a tracked setting name (Schema.TrackedSettings plus builtinTracked).
// Only the languages sql and plpgsql are allowed: in others we cannot even guess what the words
// mean. Anything else passes untouched. Dynamic SQL built so that none of these words appear
// (`EXE` || `CUTE` does not exist, but a name built from pieces can reach EXECUTE only through
// EXECUTE) is what the envelope CHECK constraint on every encrypted column stops server-side.

// builtinTracked are settings that change how pgseal lexes text or resolves names; a body that
// sets them is refused even when the wire does not list them.
var builtinTracked = []string{"pgseal.keyset", "standard_conforming_strings", "client_encoding", "search_path"}

// bodyWords are refused in any body, whatever the schema's names.
var bodyWords = []string{"execute", "set_config", "reset", "u&"}

// doStmt applies the body rule to DO [LANGUAGE l] 'code'.
func (a *analyzer) doStmt(d *pg.DoStmt, pos int) error {
	lang, body := "plpgsql", ""
	for _, n := range d.Args {
		de := n.GetDefElem()
		switch {
		case de == nil:
			return unsupportedf(pos, "a DO block pgseal does not understand is not supported")
		case de.Defname == "language":
			lang = de.Arg.GetString_().GetSval()
		case de.Defname == "as":
			body = de.Arg.GetString_().GetSval()
		}
	}
	return a.checkBody("a DO block", lang, body, pos)
}

// createFunction applies the body rule to CREATE [OR REPLACE] FUNCTION/PROCEDURE. A
// SQL-standard body (BEGIN ATOMIC … END, RETURN …) is parsed SQL: the whole statement text is
// tested, and utility refuses it besides when it names an encrypted table.
func (a *analyzer) createFunction(f *pg.CreateFunctionStmt, pos int) error {
	construct := "a function body"
	if f.IsProcedure {
		construct = "a procedure body"
	}
	lang := ""
	var body []string
	for _, n := range f.Options {
		de := n.GetDefElem()
		if de == nil {
			continue
		}
		switch de.Defname {
		case "language":
			lang = de.Arg.GetString_().GetSval()
		case "as":
			for _, item := range de.Arg.GetList().GetItems() {
				body = append(body, item.GetString_().GetSval())
			}
			if s := de.Arg.GetString_(); s != nil {
				body = append(body, s.Sval)
			}
		}
	}
	if f.SqlBody != nil {
		if lang == "" {
			lang = "sql"
		}
		body = append(body, a.sql[a.stmt.Start:a.stmt.End])
	}
	return a.checkBody(construct, lang, strings.Join(body, "\n"), pos)
}

// checkBody refuses a body in another language than sql or plpgsql, or whose text contains a
// word of the rule above, when the schema has encrypted tables. The message names the construct
// and the word (a configured name, never a value).
func (a *analyzer) checkBody(construct, lang, body string, pos int) error {
	words := a.schema.bodyNeedles()
	if len(words) == 0 {
		return nil // no encrypted tables: nothing to protect
	}
	if l := strings.ToLower(lang); l != "sql" && l != "plpgsql" {
		return unsupportedf(pos, "%s in language %q is not supported through pgseal (only sql and plpgsql); run it directly against PostgreSQL", construct, lang)
	}
	for _, w := range words {
		if containsFold(body, w) {
			return unsupportedf(pos, "%s mentioning %q is not supported through pgseal (it could write plaintext to an encrypted column or change a tracked setting); run it directly against PostgreSQL", construct, w)
		}
	}
	return nil
}

// bodyNeedles lists the lower-case words the body rule refuses, or nil when s has no encrypted
// column. Bodies are rare, so it is computed on each use rather than cached.
func (s *Schema) bodyNeedles() []string {
	if s == nil {
		return nil
	}
	var words []string
	for _, t := range s.Tables {
		if len(t.Encrypted) == 0 {
			continue
		}
		words = append(words, strings.ToLower(t.Name))
		for name := range t.Encrypted {
			words = append(words, strings.ToLower(name))
		}
	}
	if len(words) == 0 {
		return nil
	}
	words = append(words, bodyWords...)
	words = append(words, builtinTracked...)
	for _, name := range s.TrackedSettings {
		if name != "" {
			words = append(words, strings.ToLower(name))
		}
	}
	sort.Strings(words) // deterministic messages whatever the map order
	return slices.Compact(words)
}
