package column

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// foldCollation is the COLLATE clause under which PostgreSQL's ILIKE folds as fold does: "C"
// folds only A-Z; "C.utf8" (libc) lower-cases every character with towlower.
var foldCollation = map[Fold]string{FoldNone: `"C"`, FoldASCII: `"C"`, FoldUnicode: `"C.utf8"`}

func likeSQL(fold Fold, esc Escape) string {
	op := "LIKE"
	if fold != FoldNone {
		op = "ILIKE"
	}
	sql := "s " + op + " p COLLATE " + foldCollation[fold]
	switch {
	case esc.None:
		sql += " ESCAPE ''"
	case esc.Char != '\\':
		sql += " ESCAPE '" + strings.ReplaceAll(string(esc.Char), "'", "''") + "'"
	}
	return sql
}

// TestLikeMatchesServer runs the table and a few thousand random cases through PostgreSQL.
func TestLikeMatchesServer(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_collation WHERE collname = 'C.utf8'`).Scan(&n); err != nil || n == 0 {
		t.Skipf("no C.utf8 collation (%v)", err)
	}
	for _, tc := range likeCases {
		var got bool
		err := conn.QueryRow(ctx, "SELECT "+likeSQL(tc.fold, tc.esc)+" FROM (SELECT $1::text AS s, $2::text AS p) x", tc.s, tc.p).Scan(&got)
		res := map[bool]string{true: "t", false: "f"}[got]
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "22025" {
			res = "error"
		} else if err != nil {
			t.Fatal(err)
		}
		if res != tc.want {
			t.Errorf("PostgreSQL: %q %s %q = %s, the table says %s", tc.s, likeSQL(tc.fold, tc.esc), tc.p, res, tc.want)
		}
	}
	rng := rand.New(rand.NewPCG(31, 32))
	alpha := []rune("abAB%_\\#é É日ΣσςkK\u212aİiıſsS")
	randStr := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alpha[rng.IntN(len(alpha))])
		}
		return b.String()
	}
	for _, esc := range []Escape{DefaultEscape, {Char: '#'}, {None: true}} {
		for _, fold := range []Fold{FoldNone, FoldASCII, FoldUnicode} {
			var ss, ps []string
			var want []bool
			for len(ss) < 1500 {
				s := randStr(rng.IntN(8))
				p := randStr(rng.IntN(6))
				if rng.IntN(2) == 0 && len(s) > 0 { // derived patterns match more often
					rs := []rune(s)
					i := rng.IntN(len(rs))
					p = "%" + string(rs[i:min(len(rs), i+1+rng.IntN(3))]) + "%"
				}
				ok, err := Like(s, p, esc, fold)
				if err != nil {
					continue // would abort the batch; the table covers errors
				}
				ss, ps, want = append(ss, s), append(ps, p), append(want, ok)
			}
			rows, err := conn.Query(ctx, "SELECT (i - 1)::int, "+likeSQL(fold, esc)+
				" FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(s, p, i)", ss, ps)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var i int
				var got bool
				if err := rows.Scan(&i, &got); err != nil {
					t.Fatal(err)
				}
				if got != want[i] {
					t.Errorf("%q %s %q: PostgreSQL %v, Like %v", ss[i], likeSQL(fold, esc), ps[i], got, want[i])
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", likeSQL(fold, esc), err)
			}
		}
	}
}
