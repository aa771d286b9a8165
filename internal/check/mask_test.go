package check

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// secrets are the literal values of maskFile; none may appear in any output of the check.
var secrets = []string{"secret-alice", "Alice Secretname", "notanumber", "secret-bob", "secret-carol", "secret-dave",
	"secret-erin", "secret-frank", "4242", "secret-gina", "secret-hank"}

const maskFile = `-- a comment with secret-frank
INSERT INTO users (tenant, email, name, age) VALUES ('acme', 'secret-alice@example.com', 'Alice Secretname', 'notanumber');
SELECT id FROM users WHERE email LIKE '%secret-bob%';
SELECT id, email FROM users WHERE email = 'secret-carol@example.com';
UPDATE notes SET body = E'secret-dave\'s note' WHERE id = 4242;
SELECT id FROM users WHERE email = $tag$secret-gina$tag$ ORDER BY email;
INSERT INTO users (email) VALUES (upper('secret-hank'));
DO $$BEGIN RAISE NOTICE 'secret-erin'; END$$;
SELECT 'unterminated secret-erin
`

// TestNoLiteralOfAFileStatementIsPrinted: the table and the JSON of a check of a file whose
// statements carry literals (some refused, one with a value pgseal cannot convert, one that does
// not lex) show none of them.
func TestNoLiteralOfAFileStatementIsPrinted(t *testing.T) {
	db := statsDB(t)
	db.Exec(t, statsSchema)
	_, cfg := startProxy(t, db, statsColumns) // only for its configuration
	rep, err := Run(ctxT(t, 60*time.Second), Options{Config: cfg, DSN: db.ConnString(), Statements: ParseFile([]byte(maskFile))})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	var out bytes.Buffer
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("the report shows the literal %q", s)
		}
	}
	if rep.RefusedStatements < 3 || rep.Statements != 8 {
		t.Errorf("%d statements, %d refused; want 8 and at least 3 (LIKE, ORDER BY, the value, the function)", rep.Statements, rep.RefusedStatements)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1": "SELECT $1",
		"SELECT a FROM t WHERE b = 'x' AND c = $1":   "SELECT a FROM t WHERE b = $2 AND c = $1",
		"SET app.tenant = 'acme'":                    "SET app.tenant = $1",
		"DO $$BEGIN PERFORM 1; END$$":                "DO $1",
		"SELECT /* hi */ 1 -- there":                 "SELECT $1",
		"SELECT 'unterminated":                       unmaskable,
		"COMMENT ON TABLE t IS 'the secret'":         "COMMENT ON TABLE t IS ?",
		"SELECT E'\\x01'::bytea, B'101', X'ff', 1.5": "SELECT $1::bytea, $2, $3, $4",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
