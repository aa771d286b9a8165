package crypto

import (
	"bytes"
	"crypto/fips140"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// mustRekeyed returns a re-keyable x/crypto AEAD; it panics when the guard refuses the pinned
// x/crypto (TestChaChaRekeyGuard then says why).
func mustRekeyed() chachaAEAD {
	a := newRekeyedChaCha()
	if a.key == nil {
		panic("chacha20poly1305 objects cannot be re-keyed in place with this x/crypto")
	}
	return a
}

// TestChaChaRekeyGuard: with the x/crypto pinned in go.mod the re-keyed path is on; the type
// check refuses anything that is not exactly x/crypto's chacha20poly1305 struct, and the
// known-answer self-test refuses an object whose "key" pointer does not key it.
func TestChaChaRekeyGuard(t *testing.T) {
	if fips140.Enforced() {
		t.Skip("ChaCha20-Poly1305 is refused in FIPS 140-only mode (the guard is off there by design)")
	}
	if !chachaRekeyOK {
		t.Fatal("chachaRekeyOK = false: the type check or self-test refused x/crypto's chacha20poly1305 " +
			"(did golang.org/x/crypto change? suite 2 runs on the slower fallback)")
	}
	xc, err := chacha20poly1305.NewX(make([]byte, KeySize)) // same shape, another type
	if err != nil {
		t.Fatal(err)
	}
	type chacha20poly1305 struct{ key [KeySize]byte } // same name and shape, another package
	type twoFields struct {
		key [KeySize]byte
		x   int
	}
	for _, tt := range []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"a *[32]byte", new([KeySize]byte)},
		{"a struct value", chacha20poly1305{}},
		{"a look-alike struct in another package", &chacha20poly1305{}},
		{"a struct with another field", &twoFields{}},
		{"x/crypto's XChaCha20-Poly1305", xc},
	} {
		if chachaRekeyKey(tt.v) != nil {
			t.Errorf("chachaRekeyKey(%s) accepted it", tt.name)
		}
	}

	if !chachaRekeySelfTest(newRekeyedChaCha) {
		t.Error("self-test refused the real re-keyable object")
	}
	detached := func() chachaAEAD { // a key pointer that does not key the AEAD
		a := newRekeyedChaCha()
		a.key = new([KeySize]byte)
		return a
	}
	if chachaRekeySelfTest(detached) {
		t.Error("self-test accepted an object whose key pointer does not re-key it")
	}
	if chachaRekeySelfTest(func() chachaAEAD { return chachaAEAD{} }) {
		t.Error("self-test accepted the zero value")
	}
}

// withoutRekey runs fn with the re-keyed path off, as if the guard had refused x/crypto (the
// tests in this package do not run in parallel).
func withoutRekey(t *testing.T, fn func()) {
	t.Helper()
	saved := chachaRekeyOK
	chachaRekeyOK = false
	defer func() { chachaRekeyOK = saved }()
	fn()
}

// TestChaChaPathsGiveSameEnvelopes: with the same salt and nonce, the re-keyed assembly path and
// the fallback write identical suite 2 envelopes at every size class, and each opens the other's.
func TestChaChaPathsGiveSameEnvelopes(t *testing.T) {
	fast := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	var slow *ColumnKey
	withoutRekey(t, func() { slow = newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn) })
	for _, n := range []int{0, 1, 32, chachaAsmMin - 1, chachaAsmMin, 129, 200, 1000} {
		for _, term := range [][]byte{nil, testTerm(t)} {
			t.Run(fmt.Sprintf("%dB/term=%v", n, term != nil), func(t *testing.T) {
				pt := seqBytes(byte(n), n)
				rnd := seqBytes(byte(n+7), SaltSize+NonceSize)
				fast.rand, slow.rand = bytes.NewReader(rnd), bytes.NewReader(rnd)
				a, errA := fast.Seal(nil, pt, term)
				var b []byte
				var errB error
				withoutRekey(t, func() { b, errB = slow.Seal(nil, pt, term) })
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Fatalf("re-keyed Seal() = %x, %v; fallback Seal() = %x, %v; want the same bytes", a, errA, b, errB)
				}
				if s := slow.scratch.Get().(*recScratch); s.cc.key != nil {
					t.Fatal("the fallback key used the re-keyed path")
				}
				got, err := fast.Open(nil, b)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("re-keyed Open(fallback envelope) = %x, %v", got, err)
				}
				withoutRekey(t, func() { got, err = slow.Open(nil, a) })
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("fallback Open(re-keyed envelope) = %x, %v", got, err)
				}
			})
		}
	}
	fast.rand, slow.rand = nil, nil
}

// TestChaChaRekeyClearsKey: after a Seal or Open the scratch's AEAD holds no record key.
func TestChaChaRekeyClearsKey(t *testing.T) {
	k := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	s := k.scratch.Get().(*recScratch)
	// Every Get returns s, even when the pool drops it (as it sometimes does under -race).
	k.scratch.New = func() any { return s }
	k.scratch.Put(s)
	env, err := k.Seal(nil, []byte("alice@example.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(nil, env); err != nil {
		t.Fatal(err)
	}
	if s.cc.key == nil || *s.cc.key != [KeySize]byte{} || s.key != [KeySize]byte{} {
		t.Fatalf("scratch key after use: AEAD %v, scratch %x, want both zero", s.cc.key, s.key)
	}
}
