package crypto

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

var benchSizes = []int{16, 32, 64, 1024}

func benchColumnKey(b *testing.B, suite byte) *ColumnKey {
	b.Helper()
	k, err := NewColumnKey(NewSecret(make([]byte, KeySize)), KeysetID{1}, 1, "public.users.email", suite)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// benchSuites runs fn per suite and size; sub-benchmark names are suite/size (e.g.
// BenchmarkSeal/chacha20-poly1305/32B).
func benchSuites(b *testing.B, fn func(b *testing.B, k *ColumnKey, n int)) {
	for _, suite := range []byte{Suite1, Suite2} {
		k := benchColumnKey(b, suite)
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dB", SuiteName(suite), n), func(b *testing.B) { fn(b, k, n) })
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	benchSuites(b, func(b *testing.B, k *ColumnKey, n int) {
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

func BenchmarkOpen(b *testing.B) {
	benchSuites(b, func(b *testing.B, k *ColumnKey, n int) {
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

// BenchmarkChaChaAEAD compares suite 2's AEAD paths by plaintext size with a 90 B AAD: x/crypto's
// chacha20poly1305 (AVX2 assembly on amd64) re-keyed in place (the default), the same with a New
// per record key (32 B each), and the allocation-free composition of chacha20 and poly1305
// (the fallback below chachaAsmMin).
func BenchmarkChaChaAEAD(b *testing.B) {
	var key [KeySize]byte
	nonce, aad := make([]byte, NonceSize), make([]byte, 90)
	for _, n := range []int{32, 64, 128, 256, 1024} {
		pt, out := make([]byte, n), make([]byte, n+TagSize)
		b.Run(fmt.Sprintf("x-crypto-rekeyed/%dB", n), func(b *testing.B) {
			a := mustRekeyed()
			b.ReportAllocs()
			for b.Loop() {
				_ = chachaSeal(&a, out, &key, nonce, pt, aad)
			}
		})
		b.Run(fmt.Sprintf("x-crypto-New-per-key/%dB", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a, _ := chacha20poly1305.New(key[:])
				a.Seal(out[:0], nonce, pt, aad)
			}
		})
		b.Run(fmt.Sprintf("composed/%dB", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				chachaSealComposed(out, &key, nonce, pt, aad)
			}
		})
	}
}

// BenchmarkRecordKDF is the per-value record-key derivation alone (KBKDF-CMAC, four AES blocks).
func BenchmarkRecordKDF(b *testing.B) {
	r, err := newRecordKDF(make([]byte, KeySize))
	if err != nil {
		b.Fatal(err)
	}
	var s kdfScratch
	var out [KeySize]byte
	salt := make([]byte, SaltSize)
	b.ReportAllocs()
	for b.Loop() {
		r.derive(&out, salt, &s)
	}
}
