package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// wycheproofFile decodes one Wycheproof JSON file from $PGSEAL_TESTVECTORS/wycheproof or from
// ../shared/testvectors beside the clone, skipping (with the reason) when neither exists.
func wycheproofFile(t *testing.T, name string, v any) {
	t.Helper()
	dir := os.Getenv("PGSEAL_TESTVECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "testvectors")
	}
	path := filepath.Join(dir, "wycheproof", name)
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("Wycheproof vectors not found at %s (set PGSEAL_TESTVECTORS to the testvectors folder)", path)
	}
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}

// aeadVector is one Wycheproof AEAD test with a 96-bit nonce and a 128-bit tag; sealed is
// ciphertext || tag.
type aeadVector struct {
	id                        int
	key, iv, aad, msg, sealed []byte
	invalid                   bool
}

// wycheproofAEAD decodes the 96-bit-nonce, 128-bit-tag groups of an AEAD file (the only ones the
// envelope uses) and fails unless there are valid and invalid vectors among them.
func wycheproofAEAD(t *testing.T, name string) []aeadVector {
	t.Helper()
	var f struct {
		TestGroups []struct {
			IvSize, TagSize int
			Tests           []struct {
				TcID                       int
				Key, Iv, Aad, Msg, Ct, Tag string
				Result                     string
			}
		}
	}
	wycheproofFile(t, name, &f)
	var out []aeadVector
	invalid := 0
	for _, g := range f.TestGroups {
		if g.IvSize != 96 || g.TagSize != 128 {
			continue
		}
		for _, tc := range g.Tests {
			v := aeadVector{id: tc.TcID, key: unhex(t, tc.Key), iv: unhex(t, tc.Iv), aad: unhex(t, tc.Aad),
				msg: unhex(t, tc.Msg), sealed: append(unhex(t, tc.Ct), unhex(t, tc.Tag)...), invalid: tc.Result == "invalid"}
			if v.invalid {
				invalid++
			}
			out = append(out, v)
		}
	}
	if len(out) == 0 || invalid == 0 {
		t.Fatalf("%s: %d vectors (%d invalid), want some of each", name, len(out), invalid)
	}
	return out
}

// TestWycheproofAESGCM runs the 96-bit-IV, 128-bit-tag groups through newAEAD, the one
// constructor Seal, Open and Wrap use, in both its explicit-nonce and random-nonce forms.
func TestWycheproofAESGCM(t *testing.T) {
	for _, v := range wycheproofAEAD(t, "aes_gcm_test.json") {
		explicit, err := newAEAD(v.key, false)
		if err != nil {
			t.Fatalf("tc %d: newAEAD() error %v", v.id, err)
		}
		random, err := newAEAD(v.key, true)
		if err != nil {
			t.Fatalf("tc %d: newAEAD(random nonce) error %v", v.id, err)
		}
		got1, err1 := explicit.Open(nil, v.iv, v.sealed, v.aad)
		got2, err2 := random.Open(nil, nil, append(append([]byte(nil), v.iv...), v.sealed...), v.aad)
		if v.invalid {
			if err1 == nil || err2 == nil {
				t.Errorf("tc %d: Open() accepted an invalid vector", v.id)
			}
			continue
		}
		if err1 != nil || err2 != nil || !bytes.Equal(got1, v.msg) || !bytes.Equal(got2, v.msg) {
			t.Errorf("tc %d: Open() = %x/%x, %v/%v, want %x", v.id, got1, got2, err1, err2, v.msg)
		}
		if got := explicit.Seal(nil, v.iv, v.msg, v.aad); !bytes.Equal(got, v.sealed) {
			t.Errorf("tc %d: Seal() = %x, want %x", v.id, got, v.sealed)
		}
	}
}

// TestWycheproofHKDF runs hkdf_sha256 through crypto/hkdf; invalid cases (oversized output) must
// be refused.
func TestWycheproofHKDF(t *testing.T) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				TcID                 int
				Ikm, Salt, Info, Okm string
				Size                 int
				Result               string
			}
		}
	}
	wycheproofFile(t, "hkdf_sha256_test.json", &f)
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			okm, err := hkdf.Key(sha256.New, unhex(t, tc.Ikm), unhex(t, tc.Salt), string(unhex(t, tc.Info)), tc.Size)
			if tc.Result == "invalid" {
				if err == nil {
					t.Errorf("tc %d: Key() accepted size %d", tc.TcID, tc.Size)
				}
				continue
			}
			if err != nil || !bytes.Equal(okm, unhex(t, tc.Okm)) {
				t.Errorf("tc %d: Key() = %x, %v, want %s", tc.TcID, okm, err, tc.Okm)
			}
		}
	}
}

// TestWycheproofHMAC runs hmac_sha256 through the pooled HMAC used for terms, comparing the
// (possibly truncated) tag in constant time as VerifyMAC does; invalid tags must not match.
func TestWycheproofHMAC(t *testing.T) {
	var f struct {
		TestGroups []struct {
			TagSize int
			Tests   []struct {
				TcID          int
				Key, Msg, Tag string
				Result        string
			}
		}
	}
	wycheproofFile(t, "hmac_sha256_test.json", &f)
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			mp := newMACPool(unhex(t, tc.Key))
			s := mp.get()
			s.h.Write(unhex(t, tc.Msg))
			full := s.h.Sum(nil)
			mp.put(s)
			want := unhex(t, tc.Tag)
			ok := len(want) == g.TagSize/8 && hmac.Equal(full[:min(len(full), g.TagSize/8)], want)
			if ok != (tc.Result == "valid") {
				t.Errorf("tc %d: HMAC match = %v, want result %s", tc.TcID, ok, tc.Result)
			}
		}
	}
}
