package crypto

import (
	"fmt"
	"testing"
)

var benchSizes = []int{16, 32, 64, 1024}

func benchColumnKey(b *testing.B) *ColumnKey {
	b.Helper()
	k, err := NewColumnKey(NewSecret(make([]byte, KeySize)), KeysetID{1}, 1, "public.users.email")
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func BenchmarkSeal(b *testing.B) {
	k := benchColumnKey(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			pt := make([]byte, n)
			dst := make([]byte, 0, SealedSize(n, false))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Seal(dst[:0], pt, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	k := benchColumnKey(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			env, err := k.Seal(nil, make([]byte, n), nil)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Open(dst[:0], env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTerm(b *testing.B) {
	k, err := NewTermKey(NewSecret(make([]byte, KeySize)), KeysetID{1}, 1, "public.users.email")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			v := make([]byte, n)
			dst := make([]byte, 0, TermSize)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				dst = k.Term(dst[:0], 0x19, v)
			}
		})
	}
}
