package seal

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/migrate"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// Range, ORDER BY and LIKE on encrypted columns (docs/search.md): through pgseal on the encrypted
// table, every query must return exactly what PostgreSQL returns directly on the same rows stored
// in plaintext (people_plain, text in COLLATE "C" as text_order = "bytes" declares).

const searchSchema = `
CREATE TABLE people (id int PRIMARY KEY, tenant text, name bytea, age bytea, score bytea, born bytea, seen bytea, balance bytea, ratio bytea);
CREATE TABLE people_plain (id int PRIMARY KEY, tenant text, name text COLLATE "C", age int4, score float8, born date, seen timestamptz, balance numeric, ratio float4);
`

var searchColumns = []config.Encrypt{
	{Table: "people", Column: "name", Type: "text", Search: []string{"eq", "ord", "match"}, AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"},
	{Table: "people", Column: "age", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "people", Column: "score", Type: "float8", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "people", Column: "born", Type: "date", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "people", Column: "seen", Type: "timestamptz", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "people", Column: "balance", Type: "numeric", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "people", Column: "ratio", Type: "float4", Search: []string{"eq", "ord"}, AcceptLeakage: []string{"ord"}},
}

// searchRows: NULLs, duplicates, negative numbers, NaN and infinities, non-ASCII text, a prefix
// of another value, the empty string.
var searchRows = []string{
	`(1, 'acme', 'Anna', 31, 1.5, '1990-02-03', '2024-01-01 10:00:00+00', 12.50, 0.1)`,
	`(2, 'acme', 'anna', -4, -2.25, '1985-12-31', '2023-06-30 23:59:59.5+00', -3, 16777216)`,
	`(3, 'acme', 'Bob', 31, 'NaN', 'infinity', 'infinity', 'NaN', 'NaN')`,
	`(4, 'acme', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	`(5, 'acme', 'Zoë', 0, '-Infinity', '-infinity', '-infinity', '-Infinity', '-Infinity')`,
	`(6, 'acme', 'Ann', 2147483647, 'Infinity', '2000-01-01', '2000-01-01 00:00:00+00', 'Infinity', 16777217)`,
	`(7, 'acme', 'Ölaf Müller', -2147483648, 0, '1970-01-01', '1970-01-01 00:00:00+00', 0.00, -0.0)`,
	`(8, 'acme', '', 17, 1e300, '2038-01-19', '2038-01-19 03:14:08+00', 1e20, 3.4e38)`,
	`(9, 'acme', 'Carla_Jones', 17, -0.0, '1999-12-31', '1999-12-31 23:59:59+00', 12.5, 0.1)`,
	`(10, 'acme', 'carl%son', 42, 3.14159, '2010-10-10', '2010-10-10 10:10:10.101+00', -0.000001, 1e-45)`,
	`(11, 'acme', 'Bob', 8, 2.5, '1990-02-03', '2024-01-01 10:00:00+00', -1e-20, 0.30000001)`,
	`(12, 'acme', 'ÖLAF', 99, 1.5, '2001-09-09', '2001-09-09 01:46:40+00', 99999999999999999999.5, -2.5)`,
}

var searchQueries = []struct {
	sql  string
	args []any
}{
	{sql: "SELECT id FROM {t} WHERE age < 18 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age <= $1 ORDER BY id", args: []any{int32(17)}},
	{sql: "SELECT id FROM {t} WHERE age > $1 AND age < $2 ORDER BY id", args: []any{int32(0), int32(100)}},
	{sql: "SELECT id FROM {t} WHERE 30 < age ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age < 1099511627776 AND age > -1099511627776 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age >= 3000000000 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age BETWEEN 0 AND 31 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age NOT BETWEEN 0 AND 31 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age BETWEEN SYMMETRIC 31 AND 0 ORDER BY id"},
	// Unquoted numbers compare with float4 in float8 (0.1 is not float4's 0.1), except in an IN
	// list of two or more; quoted ones and ones cast to real compare in float4.
	{sql: "SELECT id FROM {t} WHERE ratio = 0.1 OR ratio = 16777217 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio <> 0.1 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio IN (0.1, 16777217) OR ratio = '0.30000001' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio < 0.1 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio <= 0.1 OR ratio >= 16777217 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio > 0.1 AND ratio < 1e39 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio > 0.1::real ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio BETWEEN 0.30000001 AND 16777217 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio NOT BETWEEN -2.5 AND 0.1 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE ratio > 1e-46 AND ratio < 1.4e-45 ORDER BY id"},
	{sql: "SELECT id FROM {t} ORDER BY ratio DESC NULLS LAST, id"},
	// Decimals and numbers beyond bigint compare with integers as numeric.
	{sql: "SELECT id FROM {t} WHERE age < 17.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age <= 17.5 OR age >= 30.01 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age > -0.5 AND age < 31.0 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age > -1.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age BETWEEN -0.5 AND 30.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age NOT BETWEEN 0.5 AND 30.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age BETWEEN SYMMETRIC 1e30 AND 17.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age < 1e30 AND age > -1e30 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age > 1e30 OR age < -9223372036854775808.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age <= -9223372036854775809 OR age >= 9223372036854775807.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name >= 'B' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name < $1 ORDER BY id", args: []any{"Bob"}},
	{sql: "SELECT id FROM {t} WHERE name BETWEEN 'A' AND 'Zz' ORDER BY id"},
	// Bounds longer than ord_max_bytes (64) are cut, and still compare exactly (OrdBound).
	{sql: "SELECT id FROM {t} WHERE name < 'Ann" + strings.Repeat("a", 70) + "' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name <= 'Ann" + strings.Repeat("a", 70) + "' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name > $1 ORDER BY id", args: []any{"Ann" + strings.Repeat("a", 70)}},
	{sql: "SELECT id FROM {t} WHERE name >= $1 ORDER BY id", args: []any{"Bo" + strings.Repeat("b", 70)}},
	{sql: "SELECT id FROM {t} WHERE name BETWEEN $1 AND 'Zo" + strings.Repeat("z", 70) + "' ORDER BY id", args: []any{"Anna" + strings.Repeat("a", 70)}},
	{sql: "SELECT id FROM {t} WHERE name NOT BETWEEN 'Ann" + strings.Repeat("a", 70) + "' AND 'Bob" + strings.Repeat("b", 70) + "' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE balance <= 12.5" + strings.Repeat("0", 140) + "1 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE balance > $1 ORDER BY id", args: []any{"-3." + strings.Repeat("0", 140) + "1"}},
	{sql: "SELECT id FROM {t} WHERE score > 0 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE score < 'NaN' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE score >= $1 ORDER BY id", args: []any{0.0}},
	{sql: "SELECT id FROM {t} WHERE born BETWEEN '1990-01-01' AND '2010-12-31' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE born > 'epoch' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen < '2001-01-01 00:00:00+00' ORDER BY id"},
	// = on a column with order search only compares order terms (not for text).
	{sql: "SELECT id FROM {t} WHERE age = 17 OR 31 = age OR age = 3000000000 OR age = 17.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age = $1 ORDER BY id", args: []any{int32(-4)}},
	{sql: "SELECT id FROM {t} WHERE age = NULL ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE score = 'NaN' OR score = -0.0 OR score = 1.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE score = $1 ORDER BY id", args: []any{0.0}},
	{sql: "SELECT id FROM {t} WHERE balance = 12.5 OR balance = 'NaN' OR balance = '-Infinity' OR balance = 0 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE born = '1990-02-03' OR born = 'infinity' OR seen = '2024-01-01 10:00:00+00' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen = '2024-01-01 10:00'::timestamp OR born = '5874897-12-31'::date ORDER BY id"},
	// <> likewise (also spelled !=); NULL rows and other keysets' rows never qualify.
	{sql: "SELECT id FROM {t} WHERE age <> 17 AND 31 != age AND age <> 17.5 AND age <> 3000000000 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age <> $1 ORDER BY id", args: []any{int32(-4)}},
	{sql: "SELECT id FROM {t} WHERE age <> NULL OR score <> 'NaN' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE score <> -0.0 AND score <> 1.5 AND balance <> 12.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE balance <> 'NaN' AND born != 'infinity' AND seen <> '2024-01-01 10:00'::timestamp ORDER BY id"},
	{sql: "SELECT id, age <> 17 FROM {t} ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen <> '5874897-12-31'::date AND born <> '294277-01-01'::date ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen <> $1 ORDER BY id", args: []any{"-infinity"}},
	// IN and NOT IN too: their items are converted as an eq column's list's are.
	{sql: "SELECT id FROM {t} WHERE age IN (17, 31, 17.5, NULL, 3000000000) OR score IN ('NaN', -0.0) ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age IN ($1, $2) OR balance IN (12.5, 0) ORDER BY id", args: []any{int32(-4), int32(31)}},
	{sql: "SELECT id FROM {t} WHERE born IN ('1990-02-03', 'infinity') OR seen IN ('2024-01-01 10:00:00+00', '2024-01-01 10:00'::timestamp) ORDER BY id"},
	{sql: "SELECT id, age IN (17, NULL) FROM {t} ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age NOT IN (17, 31, 17.5, 3000000000) AND score NOT IN ('NaN', -0.0) ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age NOT IN ($1, $2) AND born NOT IN ('1990-02-03', 'infinity') ORDER BY id", args: []any{int32(-4), int32(31)}},
	{sql: "SELECT id FROM {t} WHERE age NOT IN (17, NULL) ORDER BY id"},
	{sql: "SELECT id, age NOT IN (17, NULL), age NOT IN (NULL, 17), balance NOT IN (12.5) FROM {t} ORDER BY id"},
	// = ANY too (not <> ALL): an array parameter, an array literal or ARRAY[…] of order terms.
	{sql: "SELECT id FROM {t} WHERE age = ANY($1) ORDER BY id", args: []any{[]int32{17, -4, 99}}},
	{sql: "SELECT id FROM {t} WHERE age = ANY($1) ORDER BY id", args: []any{[]int64{17, 31}}},
	{sql: "SELECT id FROM {t} WHERE score = ANY($1) OR balance = ANY($2) ORDER BY id", args: []any{[]float64{-0.0, 1.5}, []string{"12.5", "NaN"}}},
	{sql: "SELECT id FROM {t} WHERE age = ANY('{17,NULL,31}') OR born = ANY('{1990-02-03,infinity}') ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age = ANY(ARRAY[17, 31.5, NULL]) OR seen = ANY(ARRAY['2024-01-01 10:00'::timestamp]) ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age = ANY('{}') OR age = ANY(NULL) ORDER BY id"},
	{sql: "SELECT id, age = ANY('{17,NULL}') FROM {t} ORDER BY id"},
	// IS [NOT] DISTINCT FROM, NULLs included (a NULL parameter too).
	{sql: "SELECT id FROM {t} WHERE age IS DISTINCT FROM 17 AND 31 IS DISTINCT FROM age AND score IS DISTINCT FROM 'NaN' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age IS NOT DISTINCT FROM 17 OR seen IS NOT DISTINCT FROM '2024-01-01 10:00'::timestamp OR born IS NOT DISTINCT FROM NULL ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE age IS DISTINCT FROM $1 ORDER BY id", args: []any{int32(-4)}},
	{sql: "SELECT id FROM {t} WHERE age IS DISTINCT FROM $1 ORDER BY id", args: []any{nil}},
	{sql: "SELECT id FROM {t} WHERE age IS NOT DISTINCT FROM $1 ORDER BY id", args: []any{nil}},
	{sql: "SELECT id FROM {t} WHERE age IS DISTINCT FROM 17.5 AND balance IS NOT DISTINCT FROM 12.50 ORDER BY id"},
	{sql: "SELECT id, age IS DISTINCT FROM 17, age IS NOT DISTINCT FROM NULL FROM {t} ORDER BY id"},
	// A date or timestamp compared with a timestamptz column converts (in the session's zone);
	// beyond timestamptz's range it sorts above every finite value and below infinity.
	{sql: "SELECT id FROM {t} WHERE seen < '2024-01-01 10:00'::timestamp AND seen >= '2000-01-01'::date ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen < '5874897-12-31'::date ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE '2000-01-01'::date < seen AND '2030-01-01 10:00'::timestamp >= seen ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE seen > '5874897-12-31'::date OR seen BETWEEN '1970-01-01'::date AND '1999-12-31 23:59:59'::timestamp ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE balance < 0 ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE balance >= 12.5 ORDER BY id"},
	{sql: "SELECT id FROM {t} ORDER BY name, id"},
	{sql: "SELECT id FROM {t} ORDER BY name DESC NULLS LAST, id"},
	{sql: "SELECT id FROM {t} ORDER BY age DESC, id"},
	{sql: "SELECT id FROM {t} ORDER BY age NULLS FIRST, id"},
	{sql: "SELECT id FROM {t} ORDER BY score, id"},
	{sql: "SELECT id FROM {t} ORDER BY score DESC, id"},
	{sql: "SELECT id FROM {t} ORDER BY born, id"},
	{sql: "SELECT id FROM {t} ORDER BY seen DESC NULLS LAST, id"},
	{sql: "SELECT id FROM {t} ORDER BY balance, id"},
	{sql: "SELECT id FROM {t} ORDER BY balance DESC, id LIMIT 3"},
	{sql: "SELECT id, name FROM {t} WHERE age > 0 ORDER BY age, id LIMIT 4"},
	{sql: "SELECT id, row_number() OVER (ORDER BY age, id) FROM {t} ORDER BY id"},
	{sql: "SELECT min(age), max(age), min(name), max(name), min(score), max(score) FROM {t}"},
	{sql: "SELECT min(born), max(seen), min(balance), max(balance) FROM {t}"},
	{sql: "SELECT tenant, min(age) FROM {t} GROUP BY tenant"},
	{sql: "SELECT id, name FROM {t} WHERE name LIKE '%nn%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name LIKE 'Bo_' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name ILIKE 'an%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name ILIKE '%öla%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name NOT LIKE '%n%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name NOT ILIKE '%a%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name LIKE '%\\_%' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name LIKE '%!%%' ESCAPE '!' ORDER BY id"},
	{sql: "SELECT id FROM {t} WHERE name LIKE $1 ORDER BY id", args: []any{"%arl%"}},
	{sql: "SELECT id FROM {t} WHERE name ILIKE $1 AND age > 10 ORDER BY id", args: []any{"%L%"}},
	{sql: "SELECT id FROM {t} WHERE name LIKE '' ORDER BY id"},
	{sql: "SELECT id, name FROM {t} WHERE name LIKE '%' ORDER BY name, id"},
	{sql: "SELECT * FROM {t} WHERE name LIKE 'Ö%' ORDER BY id"},
	// `*` carries the LIKE's column: the filter reads that output (the same column of the same
	// row), so a neighbour's value, or another output of the same column, must not stand in.
	{sql: "SELECT p.* FROM {t} p WHERE p.name NOT ILIKE '%a%' ORDER BY id"},
	{sql: "SELECT * FROM {t} a JOIN {t} b ON b.id = a.id + 1 WHERE b.name LIKE '%nn%' ORDER BY a.id"},
	{sql: "SELECT * FROM {t} a JOIN {t} b ON b.id = a.id + 1 WHERE a.name ILIKE $1 ORDER BY a.id", args: []any{"%O%"}},
	{sql: "SELECT * FROM (SELECT a.id, a.name, b.name AS n2 FROM {t} a JOIN {t} b ON b.id = a.id + 1) s WHERE s.n2 LIKE '%o%' ORDER BY id"},
}

func searchIndexes(t *testing.T, e *sealEnv) {
	t.Helper()
	for _, c := range searchColumns {
		id := c.ColumnID()
		if c.HasOrd() {
			e.db.Exec(t, fmt.Sprintf("CREATE INDEX %s ON people ((%s))", catalog.SearchIndexName(id, "ord"), rewrite.OrdExpr(c.Column, c.HasEq())))
		}
		if c.HasMatch() {
			e.db.Exec(t, fmt.Sprintf("CREATE INDEX %s ON people USING gin ((%s))", catalog.SearchIndexName(id, "match"), rewrite.MatchExpr(c.Column, c.HasEq())))
		}
	}
	e.db.Exec(t, "NOTIFY pgseal_catalog")
}

func TestSearchMatchesPlaintext(t *testing.T) {
	pgtest.Shared(t)
	e := newSealEnv(t, "multi", searchSchema, searchColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for _, r := range searchRows {
		if _, err := conn.Exec(ctx, "INSERT INTO people VALUES "+r); err != nil {
			t.Fatalf("INSERT %s through pgseal = %v", r, err)
		}
		e.db.Exec(t, "INSERT INTO people_plain VALUES "+r)
	}
	searchIndexes(t, e)
	direct := e.direct(t)
	// At rest: no name in the clear, and every value carries its terms.
	var leaked int
	if err := direct.QueryRow(ctx, `SELECT count(*) FROM people WHERE position('nna'::bytea in name) > 0 OR position('Bob'::bytea in name) > 0`).Scan(&leaked); err != nil || leaked != 0 {
		t.Fatalf("names in the clear at rest: %d, %v", leaked, err)
	}
	// The open session reloads its catalog on the tooling's notification.
	if !eventually(10*time.Second, func() bool {
		_, err := conn.Exec(ctx, "SELECT id FROM people ORDER BY age, name LIMIT 1")
		return err == nil
	}) {
		t.Fatalf("the session never saw the search indexes")
	}
	for _, q := range searchQueries {
		for _, mode := range allModes {
			want := queryText(t, direct, mode, strings.ReplaceAll(q.sql, "{t}", "people_plain"), q.args)
			got := queryText(t, conn, mode, strings.ReplaceAll(q.sql, "{t}", "people"), q.args)
			if got != want {
				t.Errorf("%s (%v)\n got %s\nwant %s", q.sql, mode, got, want)
			}
		}
	}
	searchDeclaredParams(t, conn, direct)
	searchKeysetConfined(t, e, conn)
	searchUsesIndexes(t, conn)
	// A pattern ending in its escape character is refused up front (PostgreSQL fails only the
	// rows whose matching reaches it), and the session goes on.
	for _, mode := range allModes {
		if got := queryText(t, conn, mode, `SELECT id FROM people WHERE name NOT LIKE $1`, []any{`Ann\`}); !strings.Contains(got, "error 22025") {
			t.Errorf("NOT LIKE 'Ann\\' (%v) = %s, want 22025", mode, got)
		}
		if got := queryText(t, conn, mode, "SELECT id FROM people WHERE name LIKE 'Ann' ORDER BY id", nil); !strings.Contains(got, "[6];") {
			t.Errorf("after the refusal (%v): %s", mode, got)
		}
	}
}

// searchDeclaredParams: order bounds whose type the client declares in Parse (JDBC's
// setBigDecimal declares numeric, setDouble float8) compare as PostgreSQL's cross-type operators
// do, and a cast to the column's type converts first.
func searchDeclaredParams(t *testing.T, conn, direct *pgx.Conn) {
	for _, c := range []*pgx.Conn{conn, direct} { // timestamps convert in the session's zone
		if _, err := c.Exec(ctxT(t), "SET TimeZone = 'Asia/Kolkata'"); err != nil {
			t.Fatal(err)
		}
		defer c.Exec(ctxT(t), "RESET TimeZone") //nolint:errcheck
	}
	const numeric, float8, int4, date, timestamp = 1700, 701, 23, 1082, 1114
	for _, q := range []struct {
		sql   string
		oid   uint32
		value string
	}{
		{"SELECT id FROM %s WHERE ratio > $1 ORDER BY id", numeric, "0.1"},
		{"SELECT id FROM %s WHERE ratio <= $1 ORDER BY id", numeric, "0.1"},
		{"SELECT id FROM %s WHERE ratio <= $1::real ORDER BY id", numeric, "0.1"},
		{"SELECT id FROM %s WHERE ratio < $1 ORDER BY id", float8, "16777217"},
		{"SELECT id FROM %s WHERE ratio < $1 ORDER BY id", int4, "16777217"},
		{"SELECT id FROM %s WHERE ratio < $1::real ORDER BY id", int4, "16777217"},
		{"SELECT id FROM %s WHERE ratio >= $1 ORDER BY id", numeric, "1e300"},
		{"SELECT id FROM %s WHERE age < $1 ORDER BY id", numeric, "17.5"},
		{"SELECT id FROM %s WHERE age < $1::int4 ORDER BY id", numeric, "17.5"},
		{"SELECT id FROM %s WHERE seen > $1 ORDER BY id", date, "2000-01-01"},
		{"SELECT id FROM %s WHERE seen <= $1 ORDER BY id", timestamp, "2024-01-01 05:00"},
		{"SELECT id FROM %s WHERE seen < $1 ORDER BY id", date, "5874897-12-31"},
		{"SELECT id FROM %s WHERE seen >= $1 ORDER BY id", date, "5874897-12-31"},
		// Local midnight of the first timestamp is before the first timestamptz east of UTC.
		{"SELECT id FROM %s WHERE seen >= $1 ORDER BY id", timestamp, "4714-11-24 00:00:00 BC"},
		{"SELECT id FROM %s WHERE seen < $1 ORDER BY id", timestamp, "4714-11-24 00:00:00 BC"},
	} {
		run := func(c *pgx.Conn, table string) string {
			res := c.PgConn().ExecParams(ctxT(t), fmt.Sprintf(q.sql, table), [][]byte{[]byte(q.value)}, []uint32{q.oid}, nil, nil).Read()
			if res.Err != nil {
				return "error " + sqlstateOf(t, res.Err)
			}
			return fmt.Sprint(res.Rows)
		}
		if got, want := run(conn, "people"), run(direct, "people_plain"); got != want {
			t.Errorf("%s with %s (oid %d): through pgseal %s, plaintext %s", q.sql, q.value, q.oid, got, want)
		}
	}
}

// searchUsesIndexes: EXPLAIN through pgseal shows pgseal's indexes serving a range, an ORDER BY …
// LIMIT and a LIKE (sequential scans off: the table is small).
func searchUsesIndexes(t *testing.T, conn *pgx.Conn) {
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET enable_seqscan") //nolint:errcheck
	for sql, want := range map[string]string{
		"EXPLAIN SELECT id FROM people WHERE age BETWEEN 1 AND 20":  "Index Scan using " + catalog.SearchIndexName("public.people.age", "ord"),
		"EXPLAIN SELECT id FROM people WHERE born < $1":             "Index Scan using " + catalog.SearchIndexName("public.people.born", "ord"),
		"EXPLAIN SELECT id, name FROM people ORDER BY name LIMIT 3": "Index Scan using " + catalog.SearchIndexName("public.people.name", "ord"),
		"EXPLAIN SELECT id FROM people WHERE name LIKE '%nna%'":     "Bitmap Index Scan on " + catalog.SearchIndexName("public.people.name", "match"),
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = []any{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
		}
		got := queryText(t, conn, pgx.QueryExecModeExec, sql, args)
		if !strings.Contains(got, want) {
			t.Errorf("%s:\n%s\nwant %q", sql, got, want)
		}
	}
}

// searchKeysetConfined: a row of another keyset takes no part in ranges, <> on order terms,
// min/max (its terms sort in its keyset's own range) and LIKE, so an acme session keeps the
// answers above.
func searchKeysetConfined(t *testing.T, e *sealEnv, acme *pgx.Conn) {
	globex := e.connect(t, "", "globex")
	if _, err := globex.Exec(ctxT(t), "INSERT INTO people VALUES (100, 'globex', 'Aaron', -999, -1e9, '1900-01-01', '1900-01-01 00:00:00+00', -1e9)"); err != nil {
		t.Fatalf("INSERT as globex = %v", err)
	}
	direct := e.direct(t)
	for _, q := range []string{
		"SELECT min(age), max(age), min(name), min(score), min(born), min(seen), min(balance) FROM {t}",
		"SELECT id FROM {t} WHERE age < 0 ORDER BY id",
		"SELECT id FROM {t} WHERE name < 'B' ORDER BY id",
		"SELECT id FROM {t} WHERE balance NOT BETWEEN 0 AND 100 ORDER BY id",
		"SELECT id FROM {t} WHERE age <> 17 AND score != 1.5 AND born <> '1990-02-03' ORDER BY id",
		"SELECT id FROM {t} WHERE seen <> '5874897-12-31'::date ORDER BY id",
		"SELECT id FROM {t} WHERE age IN (-999, 17) OR born IN ('1900-01-01', '1990-02-03') ORDER BY id",
		"SELECT id FROM {t} WHERE age NOT IN (17, 31) AND born NOT IN ('1990-02-03', '1900-01-02') ORDER BY id",
		"SELECT id FROM {t} WHERE age = ANY('{-999,17}') OR born = ANY(ARRAY['1900-01-01'::date]) ORDER BY id",
		"SELECT id FROM {t} WHERE age IS DISTINCT FROM 17 AND born IS DISTINCT FROM '1990-02-03' ORDER BY id",
		"SELECT id FROM {t} WHERE age IS NOT DISTINCT FROM -999 OR age IS NOT DISTINCT FROM 17 ORDER BY id",
		// LIKE is confined by the header's keyset (the index serves only the trigram tokens):
		// patterns without a trigram match every row's tokens, the globex row's too.
		"SELECT id FROM {t} WHERE name LIKE '%' ORDER BY id",
		"SELECT id FROM {t} WHERE name LIKE 'A%' ORDER BY id",
		"SELECT id FROM {t} WHERE name ILIKE '%aro%' ORDER BY id",
	} {
		want := queryText(t, direct, pgx.QueryExecModeSimpleProtocol, strings.ReplaceAll(q, "{t}", "people_plain"), nil)
		for _, mode := range allModes {
			if got := queryText(t, acme, mode, strings.ReplaceAll(q, "{t}", "people"), nil); got != want {
				t.Errorf("with a globex row: %s (%v)\n got %s\nwant %s", q, mode, got, want)
			}
		}
	}
}

// queryText runs sql and renders its rows (or its error's SQLSTATE) as one string.
func queryText(t *testing.T, c *pgx.Conn, mode pgx.QueryExecMode, sql string, args []any) string {
	t.Helper()
	rows, err := c.Query(ctxT(t), sql, append([]any{mode}, args...)...)
	if err != nil {
		return "error " + stateOf(err) + " " + err.Error()
	}
	var b bytes.Buffer
	for _, f := range rows.FieldDescriptions() {
		fmt.Fprintf(&b, "%s:%d ", f.Name, f.DataTypeOID)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "error " + stateOf(err)
		}
		fmt.Fprintf(&b, "%v;", vals)
	}
	if err := rows.Err(); err != nil {
		return b.String() + " error " + stateOf(err) + " " + err.Error()
	}
	return fmt.Sprintf("%s [%s]", b.String(), rows.CommandTag())
}

// TestSearchReadyAfterReindex: until `proxy reindex` has given every value its terms and built
// the index, a range on an ord column is refused ("run proxy reindex"), never answered from an
// incomplete index; a value written without terms (before the column had ord) gets them, and the
// open session then answers ranges over every row.
func TestSearchReadyAfterReindex(t *testing.T) {
	pgtest.Shared(t)
	cols := []config.Encrypt{{Table: "people", Column: "age", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}}}
	e := newSealEnv(t, "multi", "CREATE TABLE people (id int PRIMARY KEY, age bytea)", cols)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, "INSERT INTO people VALUES (1, 10), (2, 20), (3, 30)"); err != nil {
		t.Fatal(err)
	}
	// A value sealed before the column had ord: no order term.
	old, err := column.FromConfig(config.Encrypt{Table: "people", Column: "age", Type: "int4"})
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := e.kr.Snapshot().Keyset("acme")
	plain, err := value.Encode(nil, value.Int4, value.FormatText, []byte("15"), nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := old.Seal(nil, ks, plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct(t).Exec(ctx, "INSERT INTO people VALUES (4, $1)", env); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT id FROM people WHERE age > 12 ORDER BY age"
	if got := queryText(t, conn, pgx.QueryExecModeSimpleProtocol, q, nil); !strings.Contains(got, "0A000") || !strings.Contains(got, "run proxy reindex") {
		t.Fatalf("before reindex: %s, want 0A000 naming proxy reindex", got)
	}
	c, err := column.FromConfig(cols[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := migrate.Reindex(ctx, e.direct(t), e.kr.Snapshot(), migrate.ReindexOptions{Columns: []migrate.Column{c}})
	if err != nil || rep.Columns[c.ID] != 1 {
		t.Fatalf("Reindex() = %+v, %v, want 1 value re-sealed", rep, err)
	}
	var got string
	if !eventually(10*time.Second, func() bool {
		got = queryText(t, conn, pgx.QueryExecModeSimpleProtocol, q, nil)
		return !strings.Contains(got, "error")
	}) {
		t.Fatalf("after reindex: %s", got)
	}
	if want := "id:23 [4];[2];[3]; [SELECT 3]"; got != want {
		t.Fatalf("after reindex: %s, want %s", got, want)
	}
}
