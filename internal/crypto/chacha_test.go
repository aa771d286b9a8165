package crypto

import (
	"bytes"
	"crypto/fips140"
	"errors"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// chachaImpls are the AEAD entry points of suite 2: x/crypto's assembly re-keyed in place (what
// Seal and Open use when the guard passed), the fallback's size dispatch, and the
// allocation-free composition alone (forced for every size).
var chachaImpls = []struct {
	name string
	seal func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error
	open func(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error
}{
	{"rekeyed", func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
		a := mustRekeyed()
		return chachaSeal(&a, out, key, nonce, plaintext, aad)
	}, func(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
		a := mustRekeyed()
		return chachaOpen(&a, out, key, nonce, sealed, aad)
	}},
	{"fallback", func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
		return chachaSeal(&chachaAEAD{}, out, key, nonce, plaintext, aad)
	}, func(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
		return chachaOpen(&chachaAEAD{}, out, key, nonce, sealed, aad)
	}},
	{"composed", func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
		chachaSealComposed(out, key, nonce, plaintext, aad)
		return nil
	}, chachaOpenComposed},
}

// TestWycheproofChaCha20Poly1305 runs the 96-bit-nonce groups through both AEAD entry points of
// suite 2. Groups with other nonce sizes do not apply: suite 2 always uses 12 bytes.
func TestWycheproofChaCha20Poly1305(t *testing.T) {
	if fips140.Enforced() {
		t.Skip("ChaCha20-Poly1305 is refused in FIPS 140-only mode (chachaSeal and chachaOpen say so)")
	}
	for _, impl := range chachaImpls {
		t.Run(impl.name, func(t *testing.T) { testWycheproofChaCha(t, impl.seal, impl.open) })
	}
}

func testWycheproofChaCha(t *testing.T, seal func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error,
	open func(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error) {
	for _, v := range wycheproofAEAD(t, "chacha20_poly1305_test.json") {
		var key [KeySize]byte
		copy(key[:], v.key)
		got := make([]byte, len(v.sealed)-TagSize)
		err := open(got, &key, v.iv, v.sealed, v.aad)
		if v.invalid {
			if err == nil {
				t.Errorf("tc %d: chachaOpen() accepted an invalid vector", v.id)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, v.msg) {
			t.Errorf("tc %d: chachaOpen() = %x, %v, want %x", v.id, got, err, v.msg)
		}
		out := make([]byte, len(v.msg)+TagSize)
		if err := seal(out, &key, v.iv, v.msg, v.aad); err != nil || !bytes.Equal(out, v.sealed) {
			t.Errorf("tc %d: chachaSeal() = %x, %v, want %x", v.id, out, err, v.sealed)
		}
	}
}

// TestChaChaMatchesXCrypto compares both entry points (so the composed AEAD at every size) with
// x/crypto's chacha20poly1305 on plaintext and AAD lengths around the 16-byte padding and 64-byte
// block boundaries and the dispatch threshold.
func TestChaChaMatchesXCrypto(t *testing.T) {
	for _, impl := range chachaImpls {
		t.Run(impl.name, func(t *testing.T) { testChaChaMatchesXCrypto(t, impl.seal, impl.open) })
	}
}

func testChaChaMatchesXCrypto(t *testing.T, seal func(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error,
	open func(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error) {
	var key [KeySize]byte
	copy(key[:], seqBytes(0x55, KeySize))
	ref, err := chacha20poly1305.New(key[:])
	if err != nil {
		t.Fatal(err)
	}
	nonce := seqBytes(0x77, NonceSize)
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, chachaAsmMin - 1, chachaAsmMin, 65, 127, 128, 129, 191, 192, 193, 300, 4096} {
		for _, a := range []int{0, 1, 15, 16, 17, 64, 100} {
			pt, aad := seqBytes(byte(n), n), seqBytes(byte(a+1), a)
			want := ref.Seal(nil, nonce, pt, aad)
			got := make([]byte, n+TagSize)
			if err := seal(got, &key, nonce, pt, aad); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("seal(%d-byte plaintext, %d-byte aad) = %x, %v, want %x", n, a, got, err, want)
			}
			back := make([]byte, n)
			if err := open(back, &key, nonce, want, aad); err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("open(%d-byte plaintext, %d-byte aad) = %x, %v, want %x", n, a, back, err, pt)
			}
		}
	}
}

// TestChaChaOpenReleasesNothingOnFailure: a failed open must not leave keystream-XORed bytes
// (a decryption of forged ciphertext) in the output: untouched (composed) or zeroed (x/crypto).
func TestChaChaOpenReleasesNothingOnFailure(t *testing.T) {
	var key [KeySize]byte
	nonce := make([]byte, NonceSize)
	for _, n := range []int{32, chachaAsmMin + 10} {
		sealed := make([]byte, n+TagSize)
		if err := chachaSeal(&chachaAEAD{}, sealed, &key, nonce, make([]byte, n), nil); err != nil {
			t.Fatal(err)
		}
		sealed[0] ^= 1
		for _, a := range []chachaAEAD{{}, mustRekeyed()} {
			out := bytes.Repeat([]byte{0xEE}, n)
			err := chachaOpen(&a, out, &key, nonce, sealed, nil)
			if !errors.Is(err, ErrDecrypt) || (!bytes.Equal(out, bytes.Repeat([]byte{0xEE}, n)) && !bytes.Equal(out, make([]byte, n))) {
				t.Fatalf("chachaOpen(tampered %d bytes) = %v, output %x, want ErrDecrypt and no plaintext", n, err, out)
			}
		}
	}
}

// TestSuiteSwapRejected: the suite byte is authenticated (it is in the AAD), and both suites use
// the same record key, so relabelling a value as the other suite must fail the tag, not decrypt.
func TestSuiteSwapRejected(t *testing.T) {
	k1 := newTestKey(t, Suite1, testRoot, testKeyset, 1, testColumn)
	k2 := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	for _, tt := range []struct {
		name     string
		key      *ColumnKey
		from, to byte
	}{
		{"an AES-GCM value relabelled as ChaCha20-Poly1305", k1, Suite1, Suite2},
		{"a ChaCha20-Poly1305 value relabelled as AES-GCM", k2, Suite2, Suite1},
	} {
		for _, term := range [][]byte{nil, testTerm(t)} {
			t.Run(fmt.Sprintf("%s, term %v, fails the tag", tt.name, term != nil), func(t *testing.T) {
				env, err := tt.key.Seal(nil, []byte("alice@example.com"), term)
				if err != nil || env[SuiteOffset] != tt.from {
					t.Fatalf("Seal() suite byte = %d, %v, want %d", env[SuiteOffset], err, tt.from)
				}
				for _, opener := range []*ColumnKey{k1, k2} { // either key opens either suite
					if _, err := opener.Open(nil, env); err != nil {
						t.Fatalf("Open(original) error %v", err)
					}
					env[SuiteOffset] = tt.to
					if _, err := opener.Open(nil, env); !errors.Is(err, ErrDecrypt) {
						t.Fatalf("Open(relabelled) error = %v, want ErrDecrypt", err)
					}
					env[SuiteOffset] = tt.from
				}
			})
		}
	}
}

func TestSuiteByName(t *testing.T) {
	tests := []struct {
		name string
		want byte
		err  bool
	}{
		{SuiteNameAESGCM, Suite1, false},
		{SuiteNameChaCha20, Suite2, false},
		{"", DefaultSuite(), false},
		{"aes-128-gcm", 0, true},
		{"ChaCha20-Poly1305", 0, true},
	}
	for _, tt := range tests {
		got, err := SuiteByName(tt.name)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("SuiteByName(%q) = %d, %v, want %d, error %v", tt.name, got, err, tt.want, tt.err)
		}
		if err == nil && tt.name != "" && SuiteName(got) != tt.name {
			t.Errorf("SuiteName(%d) = %q, want %q", got, SuiteName(got), tt.name)
		}
	}
}

// TestSealOpenAllocateNothing pins the zero-allocation promise of suite 2 (issue 13).
func TestSealOpenAllocateNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	k := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	for _, size := range []int{0, 32, 64, 1024, 8192} {
		pt, term := make([]byte, size), testTerm(t)
		env, _ := k.Seal(nil, pt, term)
		dst, out := make([]byte, 0, len(env)), make([]byte, 0, len(pt))
		if n := testing.AllocsPerRun(200, func() { _, _ = k.Seal(dst, pt, term) }); n != 0 {
			t.Errorf("Seal(%d bytes) allocates %v times per value, want 0", size, n)
		}
		if n := testing.AllocsPerRun(200, func() { _, _ = k.Open(out, env) }); n != 0 {
			t.Errorf("Open(%d bytes) allocates %v times per value, want 0", size, n)
		}
	}
}

// TestSaltsAndNoncesNeverRepeat samples salts and nonces across many refills of the scratch
// randomness buffer and from concurrent sealers: every (salt, nonce) must be new.
func TestSaltsAndNoncesNeverRepeat(t *testing.T) {
	k := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	const per, workers = 2000, 4
	results := make(chan []byte, per*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
				env, err := k.Seal(nil, []byte("v"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				results <- env[HeaderSize : HeaderSize+SaltSize+NonceSize]
			}
		})
	}
	wg.Wait()
	close(results)
	seen := map[string]bool{}
	for r := range results {
		if seen[string(r)] {
			t.Fatalf("salt and nonce %x repeated", r)
		}
		seen[string(r)] = true
	}
	if len(seen) != per*workers {
		t.Fatalf("sampled %d values, want %d", len(seen), per*workers)
	}
}
