package column

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/value"
)

// ordSQL and matchSQL are docs/search.md §1's expressions for a column c at offset b.
func ordSQL(b int) string {
	return fmt.Sprintf(`CASE WHEN get_byte(c, 2) & 2 = 2 THEN substring(c from %d for get_byte(c, %d)*256 + get_byte(c, %d)) END`, b+5, b, b+1)
}

func matchSQL(b int) string {
	return fmt.Sprintf(`CASE WHEN get_byte(c, 2) & 4 = 4 THEN string_to_array(encode(substring(c from %d + get_byte(c, %d)*256 + get_byte(c, %d)
		for get_byte(c, %d)*256 + get_byte(c, %d)), 'escape'), ' ') END`, b+5, b, b+1, b+2, b+3)
}

// TestSearchSQLOnServer stores sealed values of two keysets in PostgreSQL and runs the spec's
// SQL on them: ORDER BY ord(c), the range predicates of §4 and match(c) @> tokens.
func TestSearchSQLOnServer(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	globex, _ := snap.Keyset("globex")
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	db.Exec(t, `CREATE TABLE t (id int PRIMARY KEY, ks text, c bytea)`)
	rng := rand.New(rand.NewPCG(41, 42))
	alpha := []rune("abcAB é日%_")

	t.Run("text with eq, ord and match", func(t *testing.T) {
		col := searchColumn(t, "text", "eq", "ord", "match")
		vals := map[int]string{}
		owner := map[int]*keyring.Keyset{}
		for id := range 300 {
			var b strings.Builder
			for range rng.IntN(7) {
				b.WriteRune(alpha[rng.IntN(len(alpha))])
			}
			ks := acme
			if id%3 == 0 {
				ks = globex
			}
			env, err := col.Seal(nil, ks, append([]byte{byte(value.Text)}, b.String()...))
			if err != nil {
				t.Fatal(err)
			}
			vals[id], owner[id] = b.String(), ks
			if _, err := conn.Exec(ctx, `INSERT INTO t VALUES ($1, $2, $3)`, id, ks.Name, env); err != nil {
				t.Fatal(err)
			}
		}
		const b = 39
		// ORDER BY ord(c) within a keyset is the plaintexts' COLLATE "C" order.
		ids := queryIDs(t, conn, `SELECT id FROM t WHERE ks = 'acme' ORDER BY `+ordSQL(b)+`, id`)
		if !slices.IsSortedFunc(ids, func(x, y int) int { return strings.Compare(vals[x], vals[y]) }) || len(ids) != 200 {
			t.Fatalf("ORDER BY ord(c) is not the plaintext order (%d rows)", len(ids))
		}
		for _, x := range []string{"", "a", "b", "ab", "日", "é a"} {
			term, err := col.OrdTerm(nil, acme, append([]byte{byte(value.Text)}, x...))
			if err != nil {
				t.Fatal(err)
			}
			less := queryIDs(t, conn, `SELECT id FROM t WHERE `+ordSQL(b)+` < $1 AND `+ordSQL(b)+` > substring($1 from 1 for 17) ORDER BY id`, term)
			more := queryIDs(t, conn, `SELECT id FROM t WHERE `+ordSQL(b)+` >= $1 AND `+ordSQL(b)+` < substring($1 from 1 for 16) || decode('02', 'hex') ORDER BY id`, term)
			var wantLess, wantMore []int
			for id := range 300 {
				if owner[id] != acme {
					continue
				}
				if vals[id] < x {
					wantLess = append(wantLess, id)
				} else {
					wantMore = append(wantMore, id)
				}
			}
			if !slices.Equal(less, wantLess) || !slices.Equal(more, wantMore) {
				t.Fatalf("c < %q: %d rows, want %d; c >= %q: %d rows, want %d", x, len(less), len(wantLess), x, len(more), len(wantMore))
			}
		}
		for _, p := range []string{"%abc%", "%日%", `%\%_%`, "ab%", "%a b%", "%AB%", "%é a%"} {
			tokens, err := col.PatternTokens(acme, p, DefaultEscape)
			if err != nil {
				t.Fatal(err)
			}
			cand := queryIDs(t, conn, `SELECT id FROM t WHERE `+matchSQL(b)+` @> $1::text[] ORDER BY id`, tokens)
			for _, fold := range []Fold{FoldNone, FoldUnicode} {
				for id, v := range vals {
					if ok, _ := Like(v, p, DefaultEscape, fold); ok && owner[id] == acme && !slices.Contains(cand, id) {
						t.Fatalf("%q LIKE %q (fold %d) but match(c) @> %s drops the row", v, p, fold, tokens)
					}
				}
			}
			for _, id := range cand {
				if owner[id] != acme {
					t.Fatalf("pattern %q selected a globex row", p)
				}
			}
		}
	})

	t.Run("int8 with ord only", func(t *testing.T) {
		db.Exec(t, `TRUNCATE t`)
		col := searchColumn(t, "int8", "ord")
		vals := map[int]int64{}
		for id := range 200 {
			v := int64(rng.IntN(2000)) - 1000
			if id == 0 {
				v = -1 << 63
			}
			env, err := col.Seal(nil, acme, binary.BigEndian.AppendUint64([]byte{byte(value.Int8)}, uint64(v)))
			if err != nil {
				t.Fatal(err)
			}
			vals[id] = v
			if _, err := conn.Exec(ctx, `INSERT INTO t VALUES ($1, 'acme', $2)`, id, env); err != nil {
				t.Fatal(err)
			}
		}
		term := func(v int64) []byte {
			tm, err := col.OrdTerm(nil, acme, binary.BigEndian.AppendUint64([]byte{byte(value.Int8)}, uint64(v)))
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		got := queryIDs(t, conn, `SELECT id FROM t WHERE `+ordSQL(23)+` BETWEEN $1 AND $2 ORDER BY id`, term(-100), term(250))
		var want []int
		for id := range 200 {
			if vals[id] >= -100 && vals[id] <= 250 {
				want = append(want, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("BETWEEN -100 AND 250: %v, want %v", got, want)
		}
	})
}

func queryIDs(t *testing.T, conn *pgx.Conn, sql string, args ...any) []int {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
