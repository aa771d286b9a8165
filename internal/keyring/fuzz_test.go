package keyring

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/crypto"
)

// sealedFixture seals a small document under a fixed master key.
func sealedFixture(tb testing.TB) (*sealer, *Document, []byte) {
	master := crypto.NewSecret(bytes.Repeat([]byte{1, 2, 3, 4}, 8))
	s := newSealer(master)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	doc := &Document{Format: FormatVersion, KeyringID: uuid.MustParse("11111111-2222-4333-8444-555555555555"),
		Epoch: 7, CreatedAt: now, UpdatedAt: now, Clients: []ClientRecord{}, AccessKeys: []AccessKeyRecord{}}
	m := NewManager(nil, master)
	m.now = func() time.Time { return now }
	ks, err := m.newKeyset(doc, "default", "d")
	if err != nil {
		tb.Fatal(err)
	}
	doc.DefaultKeyset = ks.ID
	doc.Clients = append(doc.Clients, ClientRecord{ID: uuid.New(), Name: "app", Active: true, Grants: []uuid.UUID{ks.ID}})
	data, _, err := s.seal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return s, doc, data
}

// FuzzOpenSealed feeds arbitrary bytes to the document parser: it must never panic, and what it
// accepts must be exactly the bytes the MAC covered (nothing outside them changes the result).
func FuzzOpenSealed(f *testing.F) {
	s, _, data := sealedFixture(f)
	f.Add(data)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":1,"key_check":"","document":{},"mac":""}`))
	f.Add(bytes.Replace(data, []byte(`"epoch":7`), []byte(`"epoch":6`), 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, _, err := s.open(in)
		if err != nil {
			return
		}
		var env sealed
		if err := json.Unmarshal(in, &env); err != nil {
			t.Fatalf("open() accepted input that does not parse: %v", err)
		}
		b, _ := json.Marshal(got)
		if !bytes.Equal(b, env.Document) {
			t.Fatalf("open() accepted a document other than the MAC'd bytes:\n%s", b)
		}
		if _, err := buildSnapshot(s, got, crypto.DefaultSuite(), nil); err != nil {
			t.Fatalf("buildSnapshot() of the accepted document = %v", err)
		}
	})
}

func TestEveryFlippedBitOfTheDocumentIsRefused(t *testing.T) {
	s, doc, data := sealedFixture(t)
	want, _ := json.Marshal(doc)
	start := bytes.Index(data, []byte(`"document":`)) + len(`"document":`)
	end := bytes.Index(data, []byte(`,"mac":`))
	for i := start; i < end; i++ {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(data)
			b[i] ^= 1 << bit
			if got, _, err := s.open(b); err == nil {
				if gb, _ := json.Marshal(got); !bytes.Equal(gb, want) {
					t.Fatalf("open() with byte %d bit %d flipped accepted a different document", i, bit)
				}
				t.Fatalf("open() with byte %d bit %d flipped = nil, want an error", i, bit)
			}
		}
	}
}

// FuzzOpenState feeds arbitrary bytes to the state file parser: it must never panic, and it
// accepts only what verifies under the state key (so nothing lowers a record without the master key).
func FuzzOpenState(f *testing.F) {
	sf := newStateFile("unused", crypto.NewSecret(bytes.Repeat([]byte{5, 6, 7, 8}, 8)))
	good, err := sf.seal(&stateBody{KeyringID: uuid.MustParse("11111111-2222-4333-8444-555555555555"), Epoch: 9, DocMAC: []byte{1, 2}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1,"state":{"epoch":0},"mac":"AAAA"}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := sf.open(data)
		if err != nil {
			return
		}
		var env stateSealed
		if json.Unmarshal(data, &env) != nil || !crypto.VerifyMAC(sf.key, labelState, env.Body, env.MAC) {
			t.Fatalf("open(%q) = %+v, nil for bytes that do not verify", data, body)
		}
	})
}
