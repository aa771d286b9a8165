package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var (
	testKeyset = KeysetID{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}
	testRoot   = NewSecret(seqBytes(0x30, KeySize))
	testColumn = "public.users.email"
)

// testSuites are the suites every envelope test runs under.
var testSuites = []byte{Suite1, Suite2}

// forEachSuite runs fn as one subtest per suite.
func forEachSuite(t *testing.T, fn func(t *testing.T, suite byte)) {
	for _, suite := range testSuites {
		t.Run(SuiteName(suite), func(t *testing.T) { fn(t, suite) })
	}
}

func newTestKey(t testing.TB, suite byte, root Secret, ks KeysetID, gen uint32, col string) *ColumnKey {
	t.Helper()
	k, err := NewColumnKey(root, ks, gen, col, suite)
	if err != nil {
		t.Fatalf("NewColumnKey() error %v", err)
	}
	return k
}

func testTerm(t testing.TB) []byte {
	tk, err := NewTermKey(testRoot, testKeyset, 1, testColumn)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Term(nil, 0x19, []byte("alice@example.com"))
}

func TestSealOpenRoundTrip(t *testing.T) { forEachSuite(t, testSealOpenRoundTrip) }

func testSealOpenRoundTrip(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 3, testColumn)
	fips := newTestKey(t, suite, testRoot, testKeyset, 3, testColumn)
	fips.randomNonceGCM = true // the FIPS-mode sealing path must produce the same format
	for _, n := range []int{0, 1, 15, 16, 17, 32, 1024, 70000} {
		for _, withTerm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d bytes, term %v, round trips in both nonce modes", n, withTerm), func(t *testing.T) {
				pt := seqBytes(byte(n), n)
				var term []byte
				if withTerm {
					term = testTerm(t)
				}
				for _, sealer := range []*ColumnKey{k, fips} {
					prefix := []byte("prefix")
					env, err := sealer.Seal(prefix, pt, term)
					if err != nil {
						t.Fatalf("Seal() error %v", err)
					}
					if !bytes.HasPrefix(env, []byte("prefix")) || len(env)-len(prefix) != SealedSize(n, withTerm) {
						t.Fatalf("Seal() length = %d, want prefix + %d", len(env), SealedSize(n, withTerm))
					}
					if env[len(prefix)+SuiteOffset] != suite {
						t.Fatalf("suite byte = %d, want %d", env[len(prefix)+SuiteOffset], suite)
					}
					got, err := k.Open([]byte("x"), env[len(prefix):])
					if err != nil || !bytes.Equal(got[1:], pt) || got[0] != 'x' {
						t.Fatalf("Open() = %q, %v, want x + plaintext", got, err)
					}
				}
			})
		}
	}
}

func TestSealIsRandomized(t *testing.T) { forEachSuite(t, testSealIsRandomized) }

func testSealIsRandomized(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 1, testColumn)
	a, _ := k.Seal(nil, []byte("same"), nil)
	b, _ := k.Seal(nil, []byte("same"), nil)
	if bytes.Equal(a[HeaderSize:], b[HeaderSize:]) {
		t.Fatal("Seal() twice gave the same salt/nonce/ciphertext, want fresh randomness")
	}
}

func TestHeaderLayout(t *testing.T) { forEachSuite(t, testHeaderLayout) }

func testHeaderLayout(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 0x01020304, testColumn)
	term := testTerm(t)
	env, err := k.Seal(nil, []byte("v"), term)
	if err != nil {
		t.Fatal(err)
	}
	// Offsets as SQL reads them: get_byte(col, 1), substring(col from 4 for 16), from 20 for 4,
	// from 24 for 16. Both suites share them.
	if env[SuiteOffset] != suite || len(env) != SealedSize(1, true) {
		t.Errorf("suite byte = %d, length %d, want %d, %d", env[SuiteOffset], len(env), suite, SealedSize(1, true))
	}
	if got := env[3:19]; !bytes.Equal(got, testKeyset[:]) {
		t.Errorf("keyset bytes = %x, want %x", got, testKeyset)
	}
	if got := env[19:23]; !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Errorf("generation bytes = %x, want 01020304", got)
	}
	if got := env[TermOffset : TermOffset+TermSize]; !bytes.Equal(got, term) {
		t.Errorf("term bytes = %x, want %x", got, term)
	}
	h, err := ParseHeader(env)
	if err != nil || h.Keyset != testKeyset || h.Generation != 0x01020304 || !bytes.Equal(h.Term, term) || h.Flags != FlagTerm {
		t.Errorf("ParseHeader() = %+v, %v, want keyset, generation and term of the key", h, err)
	}
	plain, _ := k.Seal(nil, []byte("v"), nil)
	if h, err := ParseHeader(plain); err != nil || h.Term != nil || h.Flags != 0 || h.Suite != suite {
		t.Errorf("ParseHeader(no term) = %+v, %v, want nil term and no flags", h, err)
	}
}

// TestEveryBitFlipRejected flips every bit of sealed values and expects the earliest class of
// error for the field hit: header fields fail before any crypto, everything else fails the tag.
func TestEveryBitFlipRejected(t *testing.T) { forEachSuite(t, testEveryBitFlipRejected) }

func testEveryBitFlipRejected(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 9, testColumn)
	for _, term := range [][]byte{nil, testTerm(t)} {
		env, err := k.Seal(nil, []byte("alice@example.com"), term)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(env) * 8 {
			mut := bytes.Clone(env)
			mut[i/8] ^= 1 << (i % 8)
			_, err := k.Open(nil, mut)
			if want := flipClass(i/8, byte(1<<(i%8))); !errors.Is(err, want) {
				t.Fatalf("term %v, bit %d of byte %d: Open() error = %v, want %v", term != nil, i%8, i/8, err, want)
			}
		}
	}
}

// flipClass is the error a flipped bit at byte pos must produce.
func flipClass(pos int, bit byte) error {
	switch {
	case pos <= SuiteOffset:
		return ErrMalformed // unknown version or suite (1 and 2 differ in two bits)
	case pos == FlagsOffset && bit != FlagTerm:
		return ErrMalformed // unknown flag
	case pos == FlagsOffset:
		return ErrDecrypt // re-framed value: caught by the tag (or length, checked separately)
	case pos < TermOffset:
		return ErrWrongKey // keyset or generation
	default:
		return ErrDecrypt // term, salt, nonce, ciphertext, tag
	}
}

func TestEveryTruncationRejected(t *testing.T) { forEachSuite(t, testEveryTruncationRejected) }

func testEveryTruncationRejected(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 1, testColumn)
	for _, term := range [][]byte{nil, testTerm(t)} {
		env, _ := k.Seal(nil, []byte("alice@example.com"), term)
		for n := range len(env) {
			_, err := k.Open(nil, env[:n])
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open(first %d of %d bytes) error = %v, want ErrMalformed or ErrDecrypt", n, len(env), err)
			}
			if n < MinSize && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Open(%d bytes) error = %v, want ErrMalformed", n, err)
			}
		}
		if _, err := k.Open(nil, append(bytes.Clone(env), 0)); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open(one extra byte) error = %v, want ErrDecrypt", err)
		}
	}
}

func TestWrongKeyRejected(t *testing.T) { forEachSuite(t, testWrongKeyRejected) }

func testWrongKeyRejected(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 1, testColumn)
	env, _ := k.Seal(nil, []byte("alice@example.com"), nil)
	otherKS := testKeyset
	otherKS[15] ^= 1
	tests := []struct {
		name string
		key  *ColumnKey
		want error
	}{
		{"another column id fails the tag", newTestKey(t, suite, testRoot, testKeyset, 1, "public.users.name"), ErrDecrypt},
		{"another root of the same keyset and generation fails the tag", newTestKey(t, suite, NewSecret(seqBytes(0x99, KeySize)), testKeyset, 1, testColumn), ErrDecrypt},
		{"another keyset is refused before crypto", newTestKey(t, suite, testRoot, otherKS, 1, testColumn), ErrWrongKey},
		{"another generation is refused before crypto", newTestKey(t, suite, testRoot, testKeyset, 2, testColumn), ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.Open(nil, env); !errors.Is(err, tt.want) {
				t.Fatalf("Open() error = %v, want %v", err, tt.want)
			}
		})
	}
	// A value whose header was rewritten to another keyset still fails under that keyset's key:
	// the keyset is bound in K_col and in the AAD, not only checked in the header.
	moved := bytes.Clone(env)
	copy(moved[KeysetOffset:], otherKS[:])
	if _, err := newTestKey(t, suite, testRoot, otherKS, 1, testColumn).Open(nil, moved); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open(header moved to another keyset) error = %v, want ErrDecrypt", err)
	}
}

func TestBadInputsGiveErrors(t *testing.T) {
	k := newTestKey(t, Suite1, testRoot, testKeyset, 1, testColumn)
	buf := make([]byte, 0, 256)
	pt := buf[10:20]
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"a short root is refused", func() error {
			_, err := NewColumnKey(NewSecret(make([]byte, 16)), testKeyset, 1, "c", Suite1)
			return err
		}, "32 bytes"},
		{"an empty column id is refused", func() error { _, err := NewColumnKey(testRoot, testKeyset, 1, "", Suite2); return err }, "column id"},
		{"a huge column id is refused", func() error {
			_, err := NewColumnKey(testRoot, testKeyset, 1, strings.Repeat("c", 65536), Suite1)
			return err
		}, "column id"},
		{"an unknown suite is refused", func() error { _, err := NewColumnKey(testRoot, testKeyset, 1, "c", 3); return err }, "unknown suite"},
		{"a short index root is refused", func() error { _, err := NewTermKey(Secret{}, testKeyset, 1, "d"); return err }, "32 bytes"},
		{"an empty domain is refused", func() error { _, err := NewTermKey(testRoot, testKeyset, 1, ""); return err }, "domain"},
		{"a term of the wrong size is refused", func() error { _, err := k.Seal(nil, []byte("v"), make([]byte, 15)); return err }, "term must be 16"},
		{"plaintext overlapping the output is refused", func() error { _, err := k.Seal(buf[:0], pt, nil); return err }, "overlaps"},
		{"output overlapping the envelope is refused", func() error {
			env, _ := k.Seal(make([]byte, 0, 200), []byte("v"), nil)
			_, err := k.Open(env[:0], env)
			return err
		}, "overlaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

func TestTermProperties(t *testing.T) {
	otherKS := testKeyset
	otherKS[0] ^= 0x80
	mk := func(ks KeysetID, gen uint32, domain string) []byte {
		tk, err := NewTermKey(testRoot, ks, gen, domain)
		if err != nil {
			t.Fatal(err)
		}
		return tk.Term(nil, 0x19, []byte("alice@example.com"))
	}
	base := mk(testKeyset, 1, testColumn)
	if len(base) != TermSize {
		t.Fatalf("Term() length = %d, want %d", len(base), TermSize)
	}
	if again := mk(testKeyset, 1, testColumn); !bytes.Equal(base, again) {
		t.Errorf("Term() = %x then %x, want deterministic", base, again)
	}
	tk, _ := NewTermKey(testRoot, testKeyset, 1, testColumn)
	differs := map[string][]byte{
		"another keyset":     mk(otherKS, 1, testColumn),
		"another domain":     mk(testKeyset, 1, "public.users.name"),
		"another generation": mk(testKeyset, 2, testColumn),
		"another type tag":   tk.Term(nil, 0x1a, []byte("alice@example.com")),
		"another value":      tk.Term(nil, 0x19, []byte("alice@example.org")),
	}
	for name, got := range differs {
		if bytes.Equal(got, base) {
			t.Errorf("Term() with %s = %x, want different from %x", name, got, base)
		}
	}
}

func TestConcurrentUse(t *testing.T) { forEachSuite(t, testConcurrentUse) }

func testConcurrentUse(t *testing.T, suite byte) {
	k := newTestKey(t, suite, testRoot, testKeyset, 1, testColumn)
	tk, _ := NewTermKey(testRoot, testKeyset, 1, testColumn)
	want := tk.Term(nil, 1, []byte("v"))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				pt := []byte(fmt.Sprintf("goroutine %d value %d", g, i))
				env, err := k.Seal(nil, pt, tk.Term(nil, 1, []byte("v")))
				if err == nil {
					var got []byte
					if got, err = k.Open(nil, env); err == nil && !bytes.Equal(got, pt) {
						err = fmt.Errorf("Open() = %q, want %q", got, pt)
					}
				}
				if h, _ := ParseHeader(env); err == nil && !bytes.Equal(h.Term, want) {
					err = fmt.Errorf("term = %x, want %x", h.Term, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
