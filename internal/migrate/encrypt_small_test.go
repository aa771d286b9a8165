package migrate

import (
	"bytes"
	"testing"
)

func TestEncryptSmallTable(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, note varchar(20), n numeric)`)
	f.exec(t, `INSERT INTO users SELECT i, 'u' || i || '@x.org', 'note ' || i, i / 10.0 FROM generate_series(1, 2500) i`)
	f.exec(t, `UPDATE users SET email = NULL WHERE id % 100 = 0`)
	before := f.plainAll(t, "users", "id", "email")
	col := mustColumn(t, configEncrypt("users", "email", "text", true))
	var log bytes.Buffer
	rep, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{Keyset: "default", Options: Options{Batch: 300, Progress: &log}})
	if err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	t.Logf("report: %+v\n%s", rep, log.String())
	if len(rep.ConvertedIndex) != 1 || rep.ConvertedIndex[0] != "users_email_key" {
		t.Fatalf("Encrypt().ConvertedIndex = %v, want [users_email_key]", rep.ConvertedIndex)
	}
	var def string
	if err := f.conn.QueryRow(ctxT(t), `SELECT pg_get_indexdef('users_email_key'::regclass)`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	t.Logf("index: %s", def)
	after := f.decryptAll(t, col, "id")
	if len(after) != len(before) {
		t.Fatalf("rows = %d, want %d", len(after), len(before))
	}
	for k, v := range before {
		if (v == nil) != (after[k] == nil) || (v != nil && *v != *after[k]) {
			t.Fatalf("row %s = %v, want %v", k, after[k], v)
		}
	}
	ks, _ := f.snap().Keyset("default")
	plain := append([]byte{byte(col.Type)}, "u1@x.org"...)
	env, err := col.Seal(nil, ks, plain)
	if err != nil {
		t.Fatalf("SealValue() = %v", err)
	}
	_, err = f.conn.Exec(ctxT(t), `INSERT INTO users (id, email) VALUES (99999, $1)`, env)
	if !isCode(err, "23505") {
		t.Fatalf("insert duplicate = %v, want 23505", err)
	}
	_, err = f.conn.Exec(ctxT(t), `INSERT INTO users (id, email) VALUES (99999, 'plain'::bytea)`)
	if !isCode(err, "23514") {
		t.Fatalf("insert plaintext = %v, want 23514", err)
	}
}
