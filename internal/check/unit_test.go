package check

import (
	"strings"
	"testing"
)

func TestUnrewrite(t *testing.T) {
	eq := map[string]bool{"email": true}
	for in, want := range map[string]string{
		"SELECT id FROM users WHERE substring(email from $2 for $3) = $1":                                       "SELECT id FROM users WHERE email = $1",
		"SELECT id FROM users u WHERE substring(u.email from $1 for $2) = $3::bytea":                            "SELECT id FROM users u WHERE u.email = $3",
		`DELETE FROM users WHERE SUBSTRING("email" FROM $1 FOR $2) = ANY(ARRAY[$3::bytea, $4::bytea]::bytea[])`: `DELETE FROM users WHERE "email" = ANY(ARRAY[$3, $4])`,
		"INSERT INTO users (email) VALUES ($1::bytea)":                                                          "INSERT INTO users (email) VALUES ($1)",
		"SELECT substring(name from $1 for $2) FROM users":                                                      "SELECT substring(name from $1 for $2) FROM users",
		"SELECT id FROM users WHERE email = $1":                                                                 "SELECT id FROM users WHERE email = $1",
	} {
		got, changed := unrewrite(in, eq)
		if got != want || changed != (in != want) {
			t.Errorf("unrewrite(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

func TestNoise(t *testing.T) {
	for sql, want := range map[string]bool{
		"BEGIN":                   true,
		"COMMIT":                  true,
		"SET app.tenant = 'acme'": true,
		"LISTEN pgseal_catalog":   true,
		"SELECT pg_catalog.current_setting($1, $2), pg_catalog.current_setting($3, $4)": true,
		"SELECT a FROM t WHERE x OPERATOR(pg_catalog.=) $1":                             true,
		"SELECT pg_stat_statements_reset()":                                             true,
		"SELECT id FROM users WHERE email = $1":                                         false,
		"CREATE INDEX ON users (email)":                                                 false,
		"SELEC broken":                                                                  false,
	} {
		if got := Noise(sql); got != want {
			t.Errorf("Noise(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestParseRefusalAndHints(t *testing.T) {
	col, construct := parseRefusal("column users.email is encrypted: LIKE is not supported")
	if col != "users.email" || construct != "LIKE" {
		t.Errorf("parseRefusal = %q, %q", col, construct)
	}
	if col, construct := parseRefusal("MergeStmt on an encrypted table is not supported"); col != "" || construct != "" {
		t.Errorf("parseRefusal of a refusal without a column = %q, %q", col, construct)
	}
	for construct, want := range map[string]string{
		"LIKE":                                 `"match"`,
		"ORDER BY":                             `"ord"`,
		"operator <":                           `"ord"`,
		"= (no equality search is configured)": `search = ["eq"]`,
		"a cast to text":                       "drop the cast",
		"GROUP BY":                             "",
	} {
		got := hintFor("0A000", "column users.email is encrypted: "+construct+" is not supported", construct, "")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("hintFor(%q) = %q, want it to say %q", construct, got, want)
		}
	}
}
