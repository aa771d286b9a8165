package migrate

import (
	"slices"
	"testing"
)

// snapshotTable captures what an application and a DBA see: every row as text, the column types
// and the index definitions.
func (f *fixture) snapshotTable(t *testing.T, table string) (rows []string, types, indexes []string) {
	t.Helper()
	r, err := f.conn.Query(ctxT(t), "SELECT t::text FROM "+table+" t ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, s)
	}
	r, err = f.conn.Query(ctxT(t), `SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END
FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		_ = r.Scan(&s)
		types = append(types, s)
	}
	r, err = f.conn.Query(ctxT(t), `SELECT indexdef FROM pg_indexes WHERE tablename = $1 UNION ALL
SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY 1`, table)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		_ = r.Scan(&s)
		indexes = append(indexes, s)
	}
	return rows, types, indexes
}

func TestEncryptThenDecryptRestoresTheTable(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE items (
  id int PRIMARY KEY, email text NOT NULL UNIQUE, code varchar(20), price numeric(10,2), at timestamptz,
  doc jsonb, n int4, x float8, ok bool, d date, u uuid, raw bytea)`)
	f.exec(t, `CREATE INDEX items_code_idx ON items (code)`)
	f.exec(t, `INSERT INTO items SELECT i, 'e' || i || '@x.org', 'c' || (i % 50), i * 1.25, '2024-01-01 12:00:00+02'::timestamptz + i * interval '1 hour',
  jsonb_build_object('a', i, 'b', ARRAY[1.50, 2]), i * 7, i / 3.0, i % 2 = 0, '2020-02-29'::date + i, gen_random_uuid(), decode(md5(i::text), 'hex')
FROM generate_series(1, 1500) i`)
	f.exec(t, `UPDATE items SET code = NULL, price = NULL, doc = NULL, x = 'NaN' WHERE id % 10 = 3`)
	rows0, types0, idx0 := f.snapshotTable(t, "items")
	cols := []struct {
		name, typ string
		eq        bool
	}{
		{"email", "text", true}, {"code", "varchar", true}, {"price", "numeric", true}, {"at", "timestamptz", false},
		{"doc", "jsonb", true}, {"n", "int4", true}, {"x", "float8", false}, {"ok", "bool", false},
		{"d", "date", true}, {"u", "uuid", true}, {"raw", "bytea", false},
	}
	var enc []Column
	for _, c := range cols {
		col := mustColumn(t, configEncrypt("items", c.name, c.typ, c.eq))
		rep, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{Keyset: "default", Options: Options{Batch: 400}})
		if err != nil {
			t.Fatalf("Encrypt(%s) = %v", c.name, err)
		}
		if c.name == "code" && !slices.Equal(rep.ConvertedIndex, []string{"items_code_idx"}) {
			t.Errorf("Encrypt(code).ConvertedIndex = %v, want [items_code_idx]", rep.ConvertedIndex)
		}
		enc = append(enc, col)
	}
	if n := f.count(t, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped AND atttypid <> 'bytea'::regtype`); n != 1 {
		t.Fatalf("non-bytea columns after encrypting all = %d, want 1 (id)", n)
	}
	if rep, err := Encrypt(ctxT(t), f.conn, f.snap(), enc[0], EncryptOptions{Keyset: "default"}); err != nil || !rep.AlreadyDone {
		t.Errorf("Encrypt(again) = %+v, %v, want already done", rep, err)
	}
	for _, col := range enc {
		if _, err := Decrypt(ctxT(t), f.conn, f.snap(), col, DecryptOptions{Options: Options{Batch: 400}}); err != nil {
			t.Fatalf("Decrypt(%s) = %v", col.Name, err)
		}
	}
	rows1, types1, idx1 := f.snapshotTable(t, "items")
	if !slices.Equal(types1, types0) {
		t.Errorf("types after the round trip = %v, want %v", types1, types0)
	}
	if !slices.Equal(idx1, idx0) {
		t.Errorf("indexes after the round trip = %v, want %v", idx1, idx0)
	}
	if !slices.Equal(rows1, rows0) {
		for i := range rows0 {
			if i < len(rows1) && rows1[i] != rows0[i] {
				t.Fatalf("row %d after the round trip = %s, want %s", i, rows1[i], rows0[i])
			}
		}
		t.Fatalf("rows after the round trip: %d, want %d", len(rows1), len(rows0))
	}
}
