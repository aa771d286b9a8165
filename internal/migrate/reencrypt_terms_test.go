package migrate

import (
	"bytes"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// TestReencryptKeepsSearchTerms: re-encryption under a new data generation keeps each value's
// equality term, order term and match tokens (they come from the index root, which does not
// rotate).
func TestReencryptKeepsSearchTerms(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `CREATE TABLE notes (id int PRIMARY KEY, body text)`)
	f.exec(t, `INSERT INTO notes SELECT i, 'note number ' || i FROM generate_series(1, 20) i`)
	col := mustColumn(t, config.Encrypt{Table: "notes", Column: "body", Type: "text", Search: []string{"eq", "ord", "match"}})
	if _, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{Keyset: "default"}); err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	read := func() map[int][]byte { return EnvelopesByID(t, f.conn, `SELECT id, body FROM notes`) }
	before := read()
	if _, err := f.mgr.Rotate(ctxT(t), "default"); err != nil {
		t.Fatalf("Rotate() = %v", err)
	}
	if _, err := Reencrypt(ctxT(t), f.conn, f.snap(), ReencryptOptions{Keyset: "default", Columns: []Column{col}, Batch: 7}); err != nil {
		t.Fatalf("Reencrypt() = %v", err)
	}
	after := read()
	for id, old := range before {
		ho, err1 := crypto.ParseHeader(old)
		hn, err2 := crypto.ParseHeader(after[id])
		if err1 != nil || err2 != nil || hn.Generation != 2 || ho.Generation != 1 {
			t.Fatalf("row %d: headers %+v (%v), %+v (%v)", id, ho, err1, hn, err2)
		}
		if ho.Ord == nil || ho.Match == nil || ho.Term == nil ||
			!bytes.Equal(ho.Term, hn.Term) || !bytes.Equal(ho.Ord, hn.Ord) || !bytes.Equal(ho.Match, hn.Match) {
			t.Fatalf("row %d: terms changed or missing", id)
		}
	}
}
