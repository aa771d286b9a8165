package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	k := newTestKey(f, Suite1, testRoot, testKeyset, 1, testColumn)
	env, _ := k.Seal(nil, []byte("seed"), nil)
	envTerm, _ := k.Seal(nil, []byte("seed"), make([]byte, TermSize))
	env2, _ := newTestKey(f, Suite2, testRoot, testKeyset, 1, testColumn).Seal(nil, []byte("seed"), nil)
	envAll, _ := k.SealTerms(nil, []byte("seed"), Terms{Eq: make([]byte, TermSize), Ord: []byte("ord"), Match: []byte("k1 abcd")})
	envMatch, _ := k.SealTerms(nil, []byte("seed"), Terms{Match: []byte("k1")})
	for _, seed := range [][]byte{nil, {1}, {1, 1, 1}, env, envTerm, env[:MinSize-1], env2, envAll, envMatch, envAll[:60]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if size, cerr := checkHeader(b); (cerr == nil) != (err == nil) || (err == nil && size != h.Size()) {
			t.Fatalf("checkHeader(%x) = %d, %v; ParseHeader = %+v, %v", b, size, cerr, h, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader() error = %v, want ErrMalformed", err)
			}
			return
		}
		if len(b) < MinSize || h.Version != Version1 || !knownSuite(h.Suite) || h.Flags&^knownFlags != 0 {
			t.Fatalf("ParseHeader(%x) accepted %+v", b, h)
		}
		if (h.Term != nil) != (h.Flags&FlagTerm != 0) || (h.Term != nil && len(b) < MinSizeTerm) {
			t.Fatalf("ParseHeader(%x) term %x inconsistent with flags %#x", b, h.Term, h.Flags)
		}
		if (len(h.Ord) != 0) != (h.Flags&FlagOrd != 0) || (len(h.Match) != 0) != (h.Flags&FlagMatch != 0) ||
			len(b) < h.Size()+SaltSize+NonceSize+TagSize {
			t.Fatalf("ParseHeader(%x) = %+v: terms inconsistent with flags or length", b, h)
		}
	})
}

// FuzzOpen mutates a valid envelope: Open must never panic and must accept only the original.
func FuzzOpen(f *testing.F) {
	k := newTestKey(f, Suite1, testRoot, testKeyset, 1, testColumn)
	pt := []byte("alice@example.com")
	valid, _ := k.Seal(nil, pt, nil)
	validTerm, _ := k.Seal(nil, pt, testTerm(f))
	valid2, _ := newTestKey(f, Suite2, testRoot, testKeyset, 1, testColumn).SealTerms(nil, pt, Terms{Eq: testTerm(f), Ord: []byte("ordterm"), Match: []byte("k1 abcd")})
	f.Add(valid, 0, byte(1), 0)
	f.Add(validTerm, 40, byte(0x80), 3)
	f.Add([]byte{}, 0, byte(0), 0)
	f.Fuzz(func(t *testing.T, b []byte, pos int, xor byte, cut int) {
		// b itself may be any envelope (even one a fuzzer copied from an earlier run's valid
		// seal); only mutations of this run's values must never be accepted.
		for i, base := range [][]byte{valid, validTerm, valid2, b} {
			mut := bytes.Clone(base)
			if len(mut) > 0 {
				mut[uint(pos)%uint(len(mut))] ^= xor
				mut = mut[:len(mut)-int(uint(cut)%uint(len(mut)+1))]
			}
			got, err := k.Open(nil, mut)
			if i < 3 && err == nil && (!bytes.Equal(mut, base) || !bytes.Equal(got, pt)) {
				t.Fatalf("Open(%x) accepted a mutated value as %q", mut, got)
			}
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open() error = %v, want one of the sentinels", err)
			}
		}
	})
}
