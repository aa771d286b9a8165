package migrate

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// marker is a plaintext that must never land in an encrypted column.
const marker = "PGSEAL-PLAINTEXT-MARKER-4711"

// header builds n bytes starting with version, suite and flags.
func header(version, suite, flags byte, n int) []byte {
	b := make([]byte, n)
	b[0], b[1], b[2] = version, suite, flags
	return b
}

// TestEnvelopeCheckRefusesPlaintext adds the CHECK with Protect and writes every kind of value
// straight to PostgreSQL, around pgseal: only envelope-shaped values (and NULL) get in.
func TestEnvelopeCheckRefusesPlaintext(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea)`)
	col := mustColumn(t, configEncrypt("users", "email", "text", true))
	rep, err := Protect(ctxT(t), f.conn, col)
	if err != nil || rep.Action != "added" || rep.Before != CheckMissing {
		t.Fatalf("Protect() = %+v, %v, want added from missing", rep, err)
	}
	ks, _ := f.snap().Keyset("default")
	plain := append([]byte{byte(col.Type)}, "u1@x.org"...)
	withTerm, err := col.Seal(nil, ks, plain)
	if err != nil {
		t.Fatal(err)
	}
	noTermCol := mustColumn(t, configEncrypt("users", "email", "text", false))
	noTerm, err := noTermCol.Seal(nil, ks, plain)
	if err != nil {
		t.Fatal(err)
	}
	// Order terms and match tokens (docs/search.md §1), with and without an equality term.
	var searched [][]byte
	for _, search := range [][]string{{"eq", "ord", "match"}, {"ord"}, {"match"}, {"ord", "match"}, {"eq", "match"}} {
		sc := mustColumn(t, config.Encrypt{Table: "users", Column: "email", Type: "text", Search: search})
		env, err := sc.Seal(nil, ks, plain)
		if err != nil {
			t.Fatal(err)
		}
		searched = append(searched, env)
	}
	all := searched[0]
	bad := func(edit func(b []byte)) []byte { b := append([]byte(nil), all...); edit(b); return b }
	cases := []struct {
		name string
		v    any
		ok   bool
	}{
		{"an envelope with eq, ord and match terms is accepted", searched[0], true},
		{"an envelope with an ord term is accepted", searched[1], true},
		{"an envelope with match tokens is accepted", searched[2], true},
		{"an envelope with ord and match terms is accepted", searched[3], true},
		{"an envelope with eq and match terms is accepted", searched[4], true},
		{"a term directory longer than the value is refused", bad(func(b []byte) { b[crypto.HeaderSizeTerm+2] = 0xff }), false},
		{"an ord flag with a zero ord length is refused", bad(func(b []byte) { b[crypto.HeaderSizeTerm], b[crypto.HeaderSizeTerm+1] = 0, 0 }), false},
		{"a directory cut short is refused", all[:crypto.HeaderSizeTerm+2], false},
		{"NULL is accepted", nil, true},
		{"an envelope with a term is accepted", withTerm, true},
		{"an envelope without a term is accepted", noTerm, true},
		{"the shortest envelope of suite 2 is accepted", header(1, 2, 0, crypto.MinSize), true},
		{"a plaintext marker is refused", []byte(marker), false},
		{"an empty value is refused", []byte{}, false},
		{"one byte is refused", []byte{1}, false},
		{"a header one byte too short is refused", header(1, 1, 0, crypto.MinSize-1), false},
		{"a term flag without room for the term is refused", header(1, 1, 1, crypto.MinSizeTerm-1), false},
		{"version 2 is refused", header(2, 1, 0, 100), false},
		{"suite 0 is refused", header(1, 0, 0, 100), false},
		{"suite 3 is refused", header(1, 3, 0, 100), false},
		{"unknown flags are refused", header(1, 1, 8, 100), false},
		{"an ord flag without a directory is refused", header(1, 1, 2, crypto.MinSize), false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.conn.Exec(ctxT(t), `INSERT INTO users VALUES ($1, $2)`, i, c.v)
			if c.ok && err != nil {
				t.Fatalf("insert = %v, want accepted", err)
			}
			if !c.ok && !isCode(err, "23514") {
				t.Fatalf("insert = %v, want 23514", err)
			}
		})
	}
	around := []struct{ name, sql string }{
		{"a SQL function", `CREATE FUNCTION put(v text) RETURNS void LANGUAGE sql AS $$ INSERT INTO users VALUES (1000, convert_to(v, 'UTF8')) $$;
SELECT put('` + marker + `')`},
		{"a DO block with dynamic SQL", `DO $$ BEGIN EXECUTE format('UPDATE users SET email = %L::bytea', '` + marker + `'); END $$`},
		{"a rule", `CREATE TABLE inbox (v text); CREATE RULE fwd AS ON INSERT TO inbox DO ALSO INSERT INTO users VALUES (1001, convert_to(NEW.v, 'UTF8'));
INSERT INTO inbox VALUES ('` + marker + `')`},
	}
	for _, a := range around {
		t.Run("plaintext written through "+a.name+" is refused", func(t *testing.T) {
			if _, err := f.conn.Exec(ctxT(t), a.sql); !isCode(err, "23514") {
				t.Fatalf("exec = %v, want 23514", err)
			}
		})
	}
	if n := f.count(t, `SELECT count(*) FROM users WHERE position(convert_to('`+marker+`', 'UTF8') in email) > 0`); n != 0 {
		t.Fatalf("rows holding the marker = %d, want 0", n)
	}
	if rep, err := Protect(ctxT(t), f.conn, col); err != nil || rep.Action != "none" {
		t.Fatalf("Protect() again = %+v, %v, want none (idempotent)", rep, err)
	}
}

// TestProtectStates: Status reports a missing and an outdated CHECK, Protect refuses while rows
// violate it (changing nothing), replaces an outdated one and finishes an interrupted run.
func TestProtectStates(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea)`)
	col := mustColumn(t, configEncrypt("users", "email", "text", false))
	status := func() string {
		st, err := Status(ctxT(t), f.conn, f.snap(), []Column{col})
		if err != nil {
			t.Fatalf("Status() = %v", err)
		}
		notOK, err := EnvelopeChecksNotOK(ctxT(t), f.conn, []Column{col, mustColumn(t, configEncrypt("nope", "x", "text", false))})
		if err != nil {
			t.Fatalf("EnvelopeChecksNotOK() = %v", err)
		}
		if want := map[string]string{col.ID: st[0].Check}; st[0].Check == CheckOK {
			if len(notOK) != 0 {
				t.Fatalf("EnvelopeChecksNotOK() = %v, want none", notOK)
			}
		} else if len(notOK) != 1 || notOK[col.ID] != want[col.ID] {
			t.Fatalf("EnvelopeChecksNotOK() = %v, want %v", notOK, want)
		}
		return st[0].Check
	}
	if got := status(); got != CheckMissing {
		t.Fatalf("Status().Check = %q, want %q", got, CheckMissing)
	}
	f.exec(t, `INSERT INTO users VALUES (1, $1), (2, $1), (3, NULL)`, []byte(marker))
	_, err := Protect(ctxT(t), f.conn, col)
	if !errors.Is(err, ErrViolations) || !strings.Contains(err.Error(), "2 rows") || strings.Contains(err.Error(), marker) {
		t.Fatalf("Protect() with plaintext rows = %v, want ErrViolations counting 2 rows without the value", err)
	}
	if got := status(); got != CheckMissing {
		t.Fatalf("after a refused Protect: Status().Check = %q, want %q (nothing changed)", got, CheckMissing)
	}
	f.exec(t, `DELETE FROM users WHERE email IS NOT NULL`)
	// The definition pgseal wrote before the comment existed.
	f.exec(t, `ALTER TABLE users ADD CONSTRAINT pgseal_envelope_email CHECK (email IS NULL OR (get_byte(email, 0) = 1 AND get_byte(email, 1) = 1 AND length(email) >= 67))`)
	if got := status(); got != CheckOutdated {
		t.Fatalf("with the old definition: Status().Check = %q, want %q", got, CheckOutdated)
	}
	if rep, err := Protect(ctxT(t), f.conn, col); err != nil || rep.Action != "replaced" {
		t.Fatalf("Protect() over the old definition = %+v, %v, want replaced", rep, err)
	}
	if got := status(); got != CheckOK {
		t.Fatalf("after Protect: Status().Check = %q, want %q", got, CheckOK)
	}
	// An interrupted run: the current definition, NOT VALID.
	f.exec(t, `ALTER TABLE users DROP CONSTRAINT pgseal_envelope_email`)
	g, err := inspectColumn(ctxT(t), f.conn, col)
	if err != nil {
		t.Fatal(err)
	}
	f.exec(t, `ALTER TABLE users ADD CONSTRAINT pgseal_envelope_email `+column.CheckClause(`email`)+` NOT VALID`)
	f.exec(t, commentCheckSQL(g))
	if got := status(); got != CheckNotValidated {
		t.Fatalf("NOT VALID: Status().Check = %q, want %q", got, CheckNotValidated)
	}
	if rep, err := Protect(ctxT(t), f.conn, col); err != nil || rep.Action != "validated" {
		t.Fatalf("Protect() over NOT VALID = %+v, %v, want validated", rep, err)
	}
}

// TestProtectRefusesWhatIsNotEncrypted: a plaintext column or a missing one is ErrNotEncrypted.
func TestProtectRefusesWhatIsNotEncrypted(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text)`)
	for _, e := range []config.Encrypt{configEncrypt("users", "email", "text", false), configEncrypt("nope", "email", "text", false)} {
		if _, err := Protect(ctxT(t), f.conn, mustColumn(t, e)); !errors.Is(err, ErrNotEncrypted) {
			t.Errorf("Protect(%s.%s) = %v, want ErrNotEncrypted", e.Table, e.Column, err)
		}
	}
}

// TestProtectLongColumnName: the constraint of a column whose name PostgreSQL cuts is found again.
func TestProtectLongColumnName(t *testing.T) {
	f := newFixture(t)
	name := strings.Repeat("c", 60)
	f.exec(t, `CREATE TABLE t (id int PRIMARY KEY, `+name+` bytea)`)
	col := mustColumn(t, configEncrypt("t", name, "text", false))
	for i, want := range []string{"added", "none"} {
		if rep, err := Protect(ctxT(t), f.conn, col); err != nil || rep.Action != want {
			t.Fatalf("Protect() #%d = %+v, %v, want %s", i+1, rep, err, want)
		}
	}
	if notOK, err := EnvelopeChecksNotOK(ctxT(t), f.conn, []Column{col}); err != nil || len(notOK) != 0 {
		t.Fatalf("EnvelopeChecksNotOK() = %v, %v, want none", notOK, err)
	}
}

// TestEnvelopeCheckIgnoresSearchPath: look-alike functions and operators earlier in the
// search_path of whoever runs Protect do not end up in the CHECK.
func TestEnvelopeCheckIgnoresSearchPath(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea)`)
	f.exec(t, `CREATE SCHEMA evil;
CREATE FUNCTION evil.length(bytea) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';
CREATE FUNCTION evil.get_byte(bytea, integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT CASE WHEN $2 < 2 THEN 1 ELSE 0 END';
CREATE FUNCTION evil.yes(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.yes);
CREATE OPERATOR evil.>= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.yes);
SET search_path = evil, pg_catalog, public`)
	if _, err := Protect(ctxT(t), f.conn, mustColumn(t, configEncrypt("users", "email", "text", false))); err != nil {
		t.Fatalf("Protect() = %v", err)
	}
	if _, err := f.conn.Exec(ctxT(t), `INSERT INTO users VALUES (1, convert_to($1, 'UTF8'))`, marker); !isCode(err, "23514") {
		t.Fatalf("plaintext insert with look-alikes in the search_path = %v, want 23514", err)
	}
}
