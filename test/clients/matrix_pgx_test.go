package clients

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestPgxMatrix runs pgx scenarios on items (matrix_test.go) directly and through pgseal:
// CopyFrom (binary COPY), SendBatch (a pipeline of inserts, lookups, an update, a delete and a
// failing insert), and every plaintext type written and read in each of pgx's query exec modes
// (binary parameters and results in the cached modes, text in the simple protocol).
func TestPgxMatrix(t *testing.T) {
	bin := buildProxy(t, t.TempDir())
	for _, sc := range []struct {
		name     string
		run      func(ctx context.Context, conn *pgx.Conn, p *transcript)
		wantRows int
	}{
		{"CopyFrom copies every type in binary and the rows read back the same", pgxCopyFrom, 5},
		{"SendBatch runs inserts, lookups and a failing insert in one pipeline", pgxSendBatch, 3},
		{"every type round-trips in each query exec mode", pgxExecModes, 10},
	} {
		t.Run(sc.name, func(t *testing.T) {
			m := newMatrix(t, bin)
			run := func(url string) string {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					t.Fatalf("connect %s: %v", url, err)
				}
				defer conn.Close(ctx)
				p := &transcript{}
				p.exec(ctx, conn, "SET app.tenant = 'acme'")
				p.exec(ctx, conn, "SET TimeZone = 'UTC'")
				sc.run(ctx, conn, p)
				return p.String()
			}
			direct := run(m.directURL())
			through := run(m.proxyURL())
			compare(t, direct, through)
			checkItemsCiphertext(t, m.enc, sc.wantRows)
		})
	}
}

// itemValues is row k of the test data: id, then one value per column of itemsColumns, as pgx
// encodes them (numeric and uuid as pgtype values).
func itemValues(id int, k int) []any {
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	name := names[k%len(names)]
	var num pgtype.Numeric
	if err := num.Scan(fmt.Sprintf("12345.6789%d", k)); err != nil {
		panic(err)
	}
	u := pgtype.UUID{Bytes: [16]byte{0x8f, 0x1e, 0x5c, 0x1e, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, byte(k)}, Valid: true}
	return []any{
		int32(id), name + "-text", name + "-vc", int16(-k), int32(100000 + k), int64(1)<<40 + int64(k),
		float32(1.5) + float32(k), -2.25 * float64(k+1), num, k%2 == 0,
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k),
		time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC).Add(time.Duration(k) * time.Hour),
		time.Date(2024, 2, 29, 13, 14, 15, 500000000, time.UTC).Add(time.Duration(k) * time.Minute),
		u, json.RawMessage(fmt.Sprintf(`{"secret-json": [%d, "x"]}`, k)),
		json.RawMessage(fmt.Sprintf(`{"secret-jsonb": %d}`, k)), []byte(fmt.Sprintf("secret-bytes-%d\x00\xff", k)),
	}
}

// itemNulls is a row with every column but id and t NULL.
func itemNulls(id int) []any {
	row := make([]any, len(itemsColumns)+1)
	row[0], row[1] = int32(id), "echo-text"
	return row
}

// allColumns is id and every column of items, for CopyFrom and INSERT.
func allColumns() []string {
	cols := []string{"id"}
	for _, c := range itemsColumns {
		cols = append(cols, c.name)
	}
	return cols
}

func insertSQL() string {
	var ph []string
	for i := range allColumns() {
		ph = append(ph, fmt.Sprintf("$%d", i+1))
	}
	return `INSERT INTO items (id, t, vc, i2, i4, i8, f4, f8, num, b, d, ts, tstz, u, j, jb, "by") VALUES (` + strings.Join(ph, ", ") + ")"
}

func pgxCopyFrom(ctx context.Context, conn *pgx.Conn, p *transcript) {
	rows := [][]any{itemValues(1, 0), itemValues(2, 1), itemNulls(3)}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"items"}, allColumns(), pgx.CopyFromRows(rows))
	p.line("copy all columns", n, err)
	// A subset of the columns, in another order than the table's.
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"i8", "t", "id"},
		pgx.CopyFromRows([][]any{{int64(7), "foxtrot-text", int32(4)}, {nil, "delta-text", int32(5)}}))
	p.line("copy three columns", n, err)
	// A duplicate key fails the whole COPY; nothing of it stays, and the session goes on.
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "t"},
		pgx.CopyFromRows([][]any{{int32(6), "bravo-text"}, {int32(1), "charlie-text"}}))
	p.line("copy a duplicate key", n, err)
	p.query(ctx, conn, "SELECT * FROM items ORDER BY id")
	p.query(ctx, conn, "SELECT id, i8 FROM items WHERE t = $1", "foxtrot-text")
	p.query(ctx, conn, "SELECT id FROM items WHERE u = $1", itemValues(0, 1)[13])
	p.query(ctx, conn, "SELECT count(*) FROM items")
}

func pgxSendBatch(ctx context.Context, conn *pgx.Conn, p *transcript) {
	b := &pgx.Batch{}
	for k := 0; k < 3; k++ {
		b.Queue(insertSQL(), itemValues(k+1, k)...)
	}
	b.Queue("SELECT id, vc, i8 FROM items WHERE t = $1", "bravo-text")
	b.Queue("SELECT id, t FROM items WHERE i8 = $1 OR vc = $2", int64(1)<<40, "charlie-vc")
	b.Queue("UPDATE items SET vc = $1, num = $2 WHERE t = $3 RETURNING id, vc, num", "delta-vc", itemValues(0, 9)[8], "alpha-text")
	b.Queue("DELETE FROM items WHERE vc = $1", "charlie-vc")
	b.Queue("SELECT * FROM items ORDER BY id")
	p.batch(ctx, conn, b)

	// A failing insert in the middle: the batch is one implicit transaction, so nothing of it stays.
	b = &pgx.Batch{}
	b.Queue(insertSQL(), itemValues(7, 4)...)
	b.Queue(insertSQL(), itemValues(2, 5)...)
	b.Queue("SELECT id FROM items WHERE t = $1", "echo-text")
	p.batch(ctx, conn, b)

	b = &pgx.Batch{}
	b.Queue(insertSQL(), itemNulls(3)...)
	b.Queue("SELECT id, t, vc FROM items ORDER BY id")
	b.Queue("SELECT count(*) FROM items WHERE vc IS NULL")
	p.batch(ctx, conn, b)
}

// pgxExecModes prints how statements on every column are described (the parameter types the
// cached modes encode by), then writes two rows (one of them NULLs) and reads them back in each
// query exec mode.
func pgxExecModes(ctx context.Context, conn *pgx.Conn, p *transcript) {
	p.describe(ctx, conn, insertSQL())
	for _, c := range itemsColumns {
		col := c.name
		if col == "by" {
			col = `"by"`
		}
		p.describe(ctx, conn, fmt.Sprintf("UPDATE items SET %s = $1 WHERE id = $2 RETURNING %s", col, col))
		if itemsSearched[c.name] {
			p.describe(ctx, conn, fmt.Sprintf("SELECT id FROM items WHERE %s = $1", col))
			// On vc, PostgreSQL describes an IN list's parameters as varchar and `= $1` as text.
			p.describe(ctx, conn, fmt.Sprintf("SELECT id FROM items WHERE %s IN ($1, $2)", col))
			p.describe(ctx, conn, fmt.Sprintf("SELECT id FROM items WHERE %s = ANY($1)", col))
		}
	}
	modes := []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}
	for i, mode := range modes {
		p.printf("mode %v", mode)
		args := append([]any{mode}, itemValues(10*i+1, i)...)
		tag, err := conn.Exec(ctx, insertSQL(), args...)
		p.line("insert", tag, err)
		tag, err = conn.Exec(ctx, insertSQL(), append([]any{mode}, itemNulls(10*i+2)...)...)
		p.line("insert NULLs", tag, err)
		p.query(ctx, conn, "SELECT * FROM items WHERE id IN ($1, $2) ORDER BY id", mode, 10*i+1, 10*i+2)
		v := itemValues(0, i)
		p.query(ctx, conn, "SELECT id FROM items WHERE t = $1 AND vc = $2 AND i8 = $3 AND u = $4", mode, v[1], v[2], v[5], v[13])
	}
	// Order and LIKE searches (docs/search.md) over the rows of every mode.
	for _, mode := range modes {
		p.printf("search %v", mode)
		p.query(ctx, conn, "SELECT id, t FROM items WHERE i4 BETWEEN $1 AND $2 ORDER BY t DESC NULLS LAST, id", mode, int32(-5), int32(200000))
		p.query(ctx, conn, "SELECT id FROM items WHERE f8 > $1 AND d <= $2 ORDER BY num, tstz, id", mode, -1.5, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		p.query(ctx, conn, "SELECT id, t FROM items WHERE t LIKE $1 ORDER BY id", mode, "%ho-t%")
		p.query(ctx, conn, "SELECT id FROM items WHERE t NOT ILIKE $1 ORDER BY t, id", mode, "E%")
		p.query(ctx, conn, "SELECT min(t), max(d), min(num), max(tstz) FROM items", mode)
	}
}

// transcript is what a Go scenario saw, one line per step, with values in a form that is the same
// for the same value whatever the wire format.
type transcript struct{ b strings.Builder }

func (p *transcript) String() string { return p.b.String() }

func (p *transcript) printf(format string, args ...any) { fmt.Fprintf(&p.b, format+"\n", args...) }

// line prints a step's result, or its SQLSTATE.
func (p *transcript) line(step string, result any, err error) {
	if err != nil {
		p.printf("%s: error %s", step, errCode(err))
		return
	}
	p.printf("%s: %v", step, result)
}

func (p *transcript) exec(ctx context.Context, conn *pgx.Conn, sql string, args ...any) {
	tag, err := conn.Exec(ctx, sql, args...)
	p.line(sql, tag, err)
}

// query prints the result's columns (name, type OID, format code) and rows. Arguments may start with a
// pgx.QueryExecMode.
func (p *transcript) query(ctx context.Context, conn *pgx.Conn, sql string, args ...any) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		p.line(sql, "", err)
		return
	}
	p.rows(sql, rows)
}

func (p *transcript) rows(step string, rows pgx.Rows) {
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, fmt.Sprintf("%s:%d:%d", f.Name, f.DataTypeOID, f.Format))
	}
	p.printf("%s: columns %s", step, strings.Join(cols, " "))
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			p.line("  row", "", err)
			continue
		}
		var out []string
		for _, v := range vals {
			out = append(out, formatValue(v))
		}
		p.printf("  row %s", strings.Join(out, " | "))
	}
	p.line("  end", rows.CommandTag(), rows.Err())
}

// describe prints the parameter and result types of sql as the server (or pgseal) describes them.
func (p *transcript) describe(ctx context.Context, conn *pgx.Conn, sql string) {
	sd, err := conn.Prepare(ctx, "", sql)
	if err != nil {
		p.line("describe "+sql, "", err)
		return
	}
	var fields []string
	for _, f := range sd.Fields {
		fields = append(fields, fmt.Sprintf("%s:%d", f.Name, f.DataTypeOID))
	}
	p.printf("describe %s: parameters %v, columns %v", sql, sd.ParamOIDs, fields)
}

// batch sends b and prints each queued statement's result.
func (p *transcript) batch(ctx context.Context, conn *pgx.Conn, b *pgx.Batch) {
	br := conn.SendBatch(ctx, b)
	for i, q := range b.QueuedQueries {
		step := fmt.Sprintf("batch %d (%.30s…)", i, q.SQL)
		if strings.HasPrefix(q.SQL, "SELECT") || strings.Contains(q.SQL, "RETURNING") {
			rows, err := br.Query()
			if err != nil {
				p.line(step, "", err)
				continue
			}
			p.rows(step, rows)
			continue
		}
		tag, err := br.Exec()
		p.line(step, tag, err)
	}
	p.line("batch close", "", br.Close())
}

// formatValue prints a decoded value: driver.Valuers (numeric, uuid) through Value, times in UTC,
// bytes in hex, maps with sorted keys.
func formatValue(v any) string {
	if dv, ok := v.(driver.Valuer); ok {
		x, err := dv.Value()
		if err != nil {
			return "value error: " + err.Error()
		}
		v = x
	}
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", x)
	case [16]byte:
		return fmt.Sprintf("%x", x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s:%v", k, x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%T %v", v, v)
}

func errCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return err.Error()
}
