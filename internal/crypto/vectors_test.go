package crypto

import (
	"bytes"
	"crypto/fips140"
	"encoding/json"
	"os"
	"testing"
)

// knownAnswers mirrors testdata/vectors_v1.json, generated independently by
// testdata/gen_vectors.py (pyca/cryptography). The file is frozen: it pins the v1 stored format.
type knownAnswers struct {
	Envelopes []struct {
		Name, Root, Keyset        string
		Generation                uint32
		Column, Salt, Nonce       string
		Plaintext                 string
		IndexRoot                 string `json:"index_root"`
		Domain                    string
		Tag                       byte
		Canonical, Term, Envelope string
	}
	RecordKeys []struct{ Kcol, Salt, Krec string } `json:"record_keys"`
	CMAC       []struct{ Key, Msg, Tag string }
}

func loadKnownAnswers(t *testing.T) knownAnswers {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors_v1.json")
	if err != nil {
		t.Fatalf("reading frozen vectors: %v", err)
	}
	var ka knownAnswers
	if err := json.Unmarshal(raw, &ka); err != nil {
		t.Fatalf("decoding frozen vectors: %v", err)
	}
	if len(ka.Envelopes) == 0 || len(ka.RecordKeys) == 0 || len(ka.CMAC) == 0 {
		t.Fatal("frozen vectors file has an empty section")
	}
	return ka
}

func keysetOf(t testing.TB, s string) KeysetID {
	var ks KeysetID
	if b := unhex(t, s); copy(ks[:], b) != len(ks) || len(b) != len(ks) {
		t.Fatalf("keyset %q is not 16 bytes", s)
	}
	return ks
}

// TestCMACSP80038B checks AES-256-CMAC, the record KDF's PRF, on the SP 800-38B D.3 messages.
func TestCMACSP80038B(t *testing.T) {
	for _, v := range loadKnownAnswers(t).CMAC {
		r, err := newRecordKDF(unhex(t, v.Key))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 16)
		r.cmac(got, unhex(t, v.Msg))
		if want := unhex(t, v.Tag); !bytes.Equal(got, want) {
			t.Errorf("CMAC(%d-byte message) = %x, want %x", len(v.Msg)/2, got, want)
		}
	}
}

// TestRecordKeyVectors checks the per-record KBKDF (with its precomputed first block) against
// pyca/cryptography's KBKDFCMAC.
func TestRecordKeyVectors(t *testing.T) {
	for _, v := range loadKnownAnswers(t).RecordKeys {
		r, err := newRecordKDF(unhex(t, v.Kcol))
		if err != nil {
			t.Fatal(err)
		}
		var got [KeySize]byte
		r.derive(&got, unhex(t, v.Salt), new(kdfScratch))
		if want := unhex(t, v.Krec); !bytes.Equal(got[:], want) {
			t.Errorf("derive(salt %s) = %x, want %x", v.Salt, got, want)
		}
	}
}

// TestEnvelopeVectors freezes the v1 format: sealing with fixed inputs must give exactly the
// committed bytes, and the committed bytes must open. A format change fails here.
func TestEnvelopeVectors(t *testing.T) {
	for _, v := range loadKnownAnswers(t).Envelopes {
		t.Run(v.Name, func(t *testing.T) {
			ks := keysetOf(t, v.Keyset)
			k, err := NewColumnKey(NewSecret(unhex(t, v.Root)), ks, v.Generation, v.Column)
			if err != nil {
				t.Fatal(err)
			}
			var term []byte
			if v.Term != "" {
				tk, err := NewTermKey(NewSecret(unhex(t, v.IndexRoot)), ks, v.Generation, v.Domain)
				if err != nil {
					t.Fatal(err)
				}
				term = tk.Term(nil, v.Tag, unhex(t, v.Canonical))
				if want := unhex(t, v.Term); !bytes.Equal(term, want) {
					t.Fatalf("Term() = %x, want %x", term, want)
				}
			}
			want, pt := unhex(t, v.Envelope), unhex(t, v.Plaintext)
			if !fips140.Enabled() { // explicit nonces are refused in FIPS mode (see doc.go)
				k.rand = bytes.NewReader(append(unhex(t, v.Salt), unhex(t, v.Nonce)...))
				got, err := k.Seal(nil, pt, term)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Seal() = %x, %v, want %x", got, err, want)
				}
			}
			got, err := k.Open(nil, want)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open() = %x, %v, want %x", got, err, pt)
			}
		})
	}
}
