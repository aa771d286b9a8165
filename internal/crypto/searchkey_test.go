package crypto

import (
	"bytes"
	"crypto/fips140"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func testOrdKey(t testing.TB, ks KeysetID, domain string) *OrdKey {
	t.Helper()
	k, err := NewOrdKey(testRoot, ks, 1, domain)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ordTerm(t testing.TB, k *OrdKey, form []byte, variable bool) []byte {
	t.Helper()
	out, err := k.Term(nil, form, variable)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != OrdTermSize(len(form), variable) {
		t.Fatalf("term of %d bytes has %d bytes, want %d", len(form), len(out), OrdTermSize(len(form), variable))
	}
	return out
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestOrdTermOrder: terms compare as their forms do, for fixed 8-byte forms and for variable
// forms of random lengths across several 64-bit chunks (prefixes, shared prefixes, equal).
func TestOrdTermOrder(t *testing.T) {
	k := testOrdKey(t, testKeyset, testColumn)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		a := binary.BigEndian.AppendUint64(nil, rng.Uint64())
		b := binary.BigEndian.AppendUint64(nil, rng.Uint64())
		if i%3 == 0 { // share a random prefix
			copy(b, a[:rng.IntN(8)])
		}
		if i%17 == 0 {
			b = bytes.Clone(a)
		}
		ta, tb := ordTerm(t, k, a, false), ordTerm(t, k, b, false)
		if sign(bytes.Compare(ta, tb)) != sign(bytes.Compare(a, b)) {
			t.Fatalf("fixed %x vs %x: terms compare %d", a, b, bytes.Compare(ta, tb))
		}
	}
	alpha := []byte{0, 1, 'a', 'b', 0xfe, 0xff}
	randForm := func() []byte {
		f := make([]byte, rng.IntN(20))
		for j := range f {
			f[j] = alpha[rng.IntN(len(alpha))]
		}
		return f
	}
	for i := 0; i < 3000; i++ {
		a, b := randForm(), randForm()
		if i%4 == 0 {
			b = append(bytes.Clone(a), b...)
		}
		ta, tb := ordTerm(t, k, a, true), ordTerm(t, k, b, true)
		if sign(bytes.Compare(ta, tb)) != sign(bytes.Compare(a, b)) {
			t.Fatalf("variable %x vs %x: terms compare %d", a, b, bytes.Compare(ta, tb))
		}
	}
}

// TestOrdTermKeysAndPrefix: the term starts with keyset ‖ 0x01; other keysets and domains give
// other numbers for the same form; equal forms give equal terms.
func TestOrdTermKeysAndPrefix(t *testing.T) {
	form := []byte("the same value, long enough for two chunks")
	k1 := testOrdKey(t, testKeyset, testColumn)
	a := ordTerm(t, k1, form, true)
	if !bytes.Equal(a[:16], testKeyset[:]) || a[16] != 0x01 {
		t.Fatalf("term prefix %x, want keyset ‖ 01", a[:17])
	}
	if !bytes.Equal(a, ordTerm(t, testOrdKey(t, testKeyset, testColumn), form, true)) {
		t.Fatal("one key gave two terms for one form")
	}
	other := KeysetID{9}
	b := ordTerm(t, testOrdKey(t, other, testColumn), form, true)
	c := ordTerm(t, testOrdKey(t, testKeyset, "other.domain"), form, true)
	if bytes.Equal(a[17:], b[17:]) || bytes.Equal(a[17:], c[17:]) || !bytes.Equal(b[:16], other[:]) {
		t.Fatal("keysets or domains share order-term numbers")
	}
	if _, err := k1.Term(nil, make([]byte, MaxOrdForm+1), true); err == nil {
		t.Fatal("an over-long order form was accepted")
	}
	if n := OrdTermSize(MaxOrdForm, true); n > MaxTermLen {
		t.Fatalf("the longest term (%d bytes) does not fit the directory", n)
	}
	if _, err := NewOrdKey(NewSecret(make([]byte, 5)), testKeyset, 1, "d"); err == nil {
		t.Fatal("a short root was accepted")
	}
	if _, err := NewOrdKey(testRoot, testKeyset, 1, ""); err == nil {
		t.Fatal("an empty domain was accepted")
	}
}

// TestOrdTermFrozen pins the scheme's bytes (a change of derivation, block layout or chaining
// must be deliberate: stored terms and indexes depend on it).
func TestOrdTermFrozen(t *testing.T) {
	k := testOrdKey(t, testKeyset, testColumn)
	got := ordTerm(t, k, []byte("pgseal order term vector!"), true)
	// testdata/gen_ord_vector.py computes these independently (pyca/cryptography); the form has
	// 226 bits, so the chunk chaining is covered, and the second one 136 bits, so the last
	// chunk's last group of AES output has 2 bits (the first's last groups have 1).
	if sum := fmt.Sprintf("%x", got[17:41]); sum != "1ca08265bb36273a77a13fa41826b10ad5cecd37530eba96" {
		t.Fatalf("order term numbers %s", sum)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(got)); sum != "94581968ab4a32c2314e2237fc3e20b66bee8340b0b97d5969c3f5bdf266f5cc" || len(got) != 469 {
		t.Fatalf("order term SHA-256 %s, %d bytes", sum, len(got))
	}
	got = ordTerm(t, k, []byte("pgseal ord vec!"), true)
	if sum := fmt.Sprintf("%x", sha256.Sum256(got)); sum != "2ad39bc11ff3221f935f5b001279f72335232aa1db06916544f0037c6784ccdc" || len(got) != 289 {
		t.Fatalf("second order term SHA-256 %s, %d bytes", sum, len(got))
	}
}

func TestOrdTermAllocatesNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	k := testOrdKey(t, testKeyset, testColumn)
	form := bytes.Repeat([]byte{7}, 64)
	dst := make([]byte, 0, OrdTermSize(len(form), true))
	_, _ = k.Term(dst, form, true)
	if n := testing.AllocsPerRun(100, func() { _, _ = k.Term(dst, form, true) }); n != 0 {
		t.Fatalf("Term allocates %v times", n)
	}
}

func TestSealTermsAllocatesNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	k := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	pt := make([]byte, 32)
	tm := Terms{Eq: testTerm(t), Ord: make([]byte, 145), Match: []byte("k00 abcd")}
	env, _ := k.SealTerms(nil, pt, tm)
	dst, out := make([]byte, 0, len(env)), make([]byte, 0, len(pt))
	if n := testing.AllocsPerRun(200, func() { _, _ = k.SealTerms(dst, pt, tm) }); n != 0 {
		t.Errorf("SealTerms allocates %v times per value, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = k.Open(out, env) }); n != 0 {
		t.Errorf("Open allocates %v times per value, want 0", n)
	}
}

func TestMatchKey(t *testing.T) {
	k, err := NewMatchKey(testRoot, testKeyset, 1, testColumn)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewMatchKey(testRoot, KeysetID{9}, 1, testColumn)
	same := 0
	for i := 0; i < 200; i++ {
		tri := []byte(fmt.Sprintf("%03d", i))
		if k.Token(tri) != k.Token(tri) {
			t.Fatal("tokens are not deterministic")
		}
		if k.Token(tri) == k2.Token(tri) {
			same++
		}
	}
	if same > 5 {
		t.Fatalf("%d of 200 tokens agree across keysets", same)
	}
	if n := testing.AllocsPerRun(100, func() { _ = k.Token([]byte("abc")) }); n != 0 && !raceEnabled {
		t.Fatalf("Token allocates %v times", n)
	}
	if _, err := NewMatchKey(testRoot, testKeyset, 1, ""); err == nil {
		t.Fatal("an empty domain was accepted")
	}
}

// TestSealTerms: every combination of terms round-trips through both suites, ParseHeader returns
// the terms, and a flipped byte in any term (or the directory) fails Open.
func TestSealTerms(t *testing.T) {
	forEachSuite(t, func(t *testing.T, suite byte) {
		k := newTestKey(t, suite, testRoot, testKeyset, 1, testColumn)
		pt := []byte("alice@example.com")
		ord := ordTerm(t, testOrdKey(t, testKeyset, testColumn), []byte("alice"), true)
		match := []byte("k0123 abcd ef01")
		for mask := 0; mask < 8; mask++ {
			var tm Terms
			if mask&1 != 0 {
				tm.Eq = testTerm(t)
			}
			if mask&2 != 0 {
				tm.Ord = ord
			}
			if mask&4 != 0 {
				tm.Match = match
			}
			env, err := k.SealTerms([]byte("pre"), pt, tm)
			if err != nil {
				t.Fatal(err)
			}
			env = env[3:]
			if len(env) != SealedSizeTerms(len(pt), tm) {
				t.Fatalf("mask %d: %d bytes, SealedSizeTerms says %d", mask, len(env), SealedSizeTerms(len(pt), tm))
			}
			h, err := ParseHeader(env)
			if err != nil || h.Flags != byte(mask) || !bytes.Equal(h.Term, tm.Eq) || !bytes.Equal(h.Ord, tm.Ord) || !bytes.Equal(h.Match, tm.Match) {
				t.Fatalf("mask %d: header %+v, %v", mask, h, err)
			}
			if (h.Term == nil) != (tm.Eq == nil) || (h.Ord == nil) != (tm.Ord == nil) || (h.Match == nil) != (tm.Match == nil) {
				t.Fatalf("mask %d: absent terms must be nil", mask)
			}
			if mask == 0 || mask == 1 { // without ord/match the layout is the old one
				old, _ := k.Seal(nil, pt, tm.Eq)
				if len(old) != len(env) || !bytes.Equal(old[:HeaderSize], env[:HeaderSize]) {
					t.Fatalf("mask %d: layout differs from Seal's", mask)
				}
			}
			got, err := k.Open(nil, env)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("mask %d: Open = %q, %v", mask, got, err)
			}
			for i := FlagsOffset; i < h.Size(); i++ {
				if i >= KeysetOffset && i < TermOffset {
					continue // keyset and generation: ErrWrongKey, tested elsewhere
				}
				mut := bytes.Clone(env)
				mut[i] ^= 0x01
				if _, err := k.Open(nil, mut); err == nil {
					t.Fatalf("mask %d: flipping header byte %d was accepted", mask, i)
				} else if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("mask %d, byte %d: error %v", mask, i, err)
				}
			}
		}
		if _, err := k.SealTerms(nil, pt, Terms{Ord: make([]byte, MaxTermLen+1)}); err == nil {
			t.Fatal("an over-long order term was accepted")
		}
	})
}

// TestParseHeaderDirectory: truncations and inconsistent directories are ErrMalformed.
func TestParseHeaderDirectory(t *testing.T) {
	k := newTestKey(t, Suite2, testRoot, testKeyset, 1, testColumn)
	env, _ := k.SealTerms(nil, []byte("v"), Terms{Ord: []byte("ordterm"), Match: []byte("k1 abcd")})
	for n := 0; n < len(env)-1; n++ {
		if _, err := k.Open(nil, env[:n]); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	for _, tc := range []struct {
		name   string
		edit   func(b []byte)
		wantOK bool
	}{
		{"ord flag without length", func(b []byte) { b[HeaderSize], b[HeaderSize+1] = 0, 0 }, false},
		{"length without ord flag", func(b []byte) { b[FlagsOffset] = FlagMatch }, false},
		{"match length beyond the value", func(b []byte) { b[HeaderSize+2] = 0xff }, false},
		{"unknown flag", func(b []byte) { b[FlagsOffset] |= 0x08 }, false},
		{"unchanged", func(b []byte) {}, true},
	} {
		b := bytes.Clone(env)
		tc.edit(b)
		_, err := ParseHeader(b)
		if (err == nil) != tc.wantOK || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: ParseHeader error %v", tc.name, err)
		}
	}
}

func BenchmarkOrdTerm(b *testing.B) {
	k := testOrdKey(b, KeysetID{1}, "public.t.c")
	b.Run("int8", func(b *testing.B) {
		form := binary.BigEndian.AppendUint64(nil, 0x8000000000012345)
		dst := make([]byte, 0, OrdTermSize(8, false))
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = k.Term(dst[:0], form, false)
		}
	})
	for _, n := range []int{8, 32, 64} {
		b.Run(fmt.Sprintf("text/%dB", n), func(b *testing.B) {
			form := bytes.Repeat([]byte{'x'}, n)
			dst := make([]byte, 0, OrdTermSize(n, true))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = k.Term(dst[:0], form, true)
			}
		})
	}
}

func BenchmarkMatchToken(b *testing.B) {
	k, _ := NewMatchKey(NewSecret(make([]byte, KeySize)), KeysetID{1}, 1, "public.t.c")
	tri := []byte("abc")
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Token(tri)
	}
}

// TestSearchKeysConcurrent: one OrdKey and one MatchKey used from several goroutines give the
// same results as sequential calls (run with -race).
func TestSearchKeysConcurrent(t *testing.T) {
	ok := testOrdKey(t, testKeyset, testColumn)
	mk, _ := NewMatchKey(testRoot, testKeyset, 1, testColumn)
	forms := make([][]byte, 32)
	want := make([][]byte, len(forms))
	for i := range forms {
		forms[i] = bytes.Repeat([]byte{byte(i)}, i)
		want[i] = ordTerm(t, ok, forms[i], true)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for r := 0; r < 20; r++ {
				for i, f := range forms {
					got, _ := ok.Term(nil, f, true)
					if !bytes.Equal(got, want[i]) || mk.Token(f) != mk.Token(f) {
						errs <- fmt.Errorf("form %d: concurrent term differs", i)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestMatchTokenFrozen: testdata/gen_ord_vector.py computes these independently (pyca).
func TestMatchTokenFrozen(t *testing.T) {
	k, err := NewMatchKey(testRoot, testKeyset, 1, testColumn)
	if err != nil {
		t.Fatal(err)
	}
	for tri, want := range map[string]uint16{"abc": 0xfa45, "日本語": 0x85fc} {
		if got := k.Token([]byte(tri)); got != want {
			t.Errorf("Token(%q) = %04x, want %04x", tri, got, want)
		}
	}
}

// TestEnvelopeWithSearchTermsVector: envelopes with order terms and match tokens, computed
// independently by testdata/gen_ord_vector.py (pyca/cryptography), seal and open byte for byte.
func TestEnvelopeWithSearchTermsVector(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("explicit nonces are refused in FIPS mode")
	}
	eq, ord, match := seqBytes(0x60, 16), []byte("ORD-TERM-BYTES"), []byte("k00 abcd")
	for _, v := range []struct {
		suite, flags byte
		env          string
	}{
		{Suite1, 0x07, "010107112233445566778899aabbccddeeff0100000001606162636465666768696a6b6c6d6e6f000e00084f52442d5445524d2d42595445536b30302061626364404142434445464748494a4b4c4d4e4f505152535455565758595a5bb01c207e8f889e371fe5c7aed984cbdf90be352685"},
		{Suite1, 0x02, "010102112233445566778899aabbccddeeff0100000001000e00004f52442d5445524d2d4259544553404142434445464748494a4b4c4d4e4f505152535455565758595a5bb01c207e8fd40513083559215c400a8364feb58218"},
		{Suite1, 0x04, "010104112233445566778899aabbccddeeff0100000001000000086b30302061626364404142434445464748494a4b4c4d4e4f505152535455565758595a5bb01c207e8fcdbae9a5827e0a2e4ae5686513d7ad13"},
		{Suite2, 0x07, "010207112233445566778899aabbccddeeff0100000001606162636465666768696a6b6c6d6e6f000e00084f52442d5445524d2d42595445536b30302061626364404142434445464748494a4b4c4d4e4f505152535455565758595a5be79772b32b1c6de52928091dd9ec2c23364e5747ca"},
		{Suite2, 0x02, "010202112233445566778899aabbccddeeff0100000001000e00004f52442d5445524d2d4259544553404142434445464748494a4b4c4d4e4f505152535455565758595a5be79772b32bb62ead2c1cc31590419f7d18e0e9920f"},
		{Suite2, 0x04, "010204112233445566778899aabbccddeeff0100000001000000086b30302061626364404142434445464748494a4b4c4d4e4f505152535455565758595a5be79772b32bd4e524e3af86052f2436ca07be8ffd00"},
	} {
		k := newTestKey(t, v.suite, testRoot, testKeyset, 1, testColumn)
		k.rand = bytes.NewReader(append(seqBytes(0x40, 16), seqBytes(0x50, 12)...))
		var tm Terms
		if v.flags&FlagTerm != 0 {
			tm.Eq = eq
		}
		if v.flags&FlagOrd != 0 {
			tm.Ord = ord
		}
		if v.flags&FlagMatch != 0 {
			tm.Match = match
		}
		want, _ := hex.DecodeString(v.env)
		got, err := k.SealTerms(nil, []byte("alice"), tm)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("suite %d flags %d: SealTerms() = %x, %v, want %x", v.suite, v.flags, got, err, want)
		}
		if pt, err := k.Open(nil, want); err != nil || string(pt) != "alice" {
			t.Fatalf("suite %d flags %d: Open() = %q, %v", v.suite, v.flags, pt, err)
		}
	}
}
