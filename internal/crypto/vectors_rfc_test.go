package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes a test constant; a typo in a vector fails the test rather than passing silently.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test vector %q: %v", s, err)
	}
	return b
}

func seqBytes(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// TestHKDFRFC5869 runs RFC 5869 Appendix A.1-A.3 through crypto/hkdf, the primitive behind
// column keys, term keys and DeriveKey (Expand from the PRK, as we use it, and Extract too).
func TestHKDFRFC5869(t *testing.T) {
	tests := []struct {
		name            string
		ikm, salt, info []byte
		length          int
		prk, okm        string
	}{
		{"A.1 basic test case", bytes.Repeat([]byte{0x0b}, 22), seqBytes(0x00, 13), seqBytes(0xf0, 10), 42,
			"077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
			"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
		{"A.2 longer inputs and outputs", seqBytes(0x00, 80), seqBytes(0x60, 80), seqBytes(0xb0, 80), 82,
			"06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
			"b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
		{"A.3 zero-length salt and info", bytes.Repeat([]byte{0x0b}, 22), nil, nil, 42,
			"19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
			"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prk, err := hkdf.Extract(sha256.New, tt.ikm, tt.salt)
			if err != nil || !bytes.Equal(prk, unhex(t, tt.prk)) {
				t.Fatalf("Extract() = %x, %v, want %s", prk, err, tt.prk)
			}
			okm, err := hkdf.Expand(sha256.New, prk, string(tt.info), tt.length)
			if err != nil || !bytes.Equal(okm, unhex(t, tt.okm)) {
				t.Fatalf("Expand() = %x, %v, want %s", okm, err, tt.okm)
			}
		})
	}
}

// TestHMACRFC4231 runs RFC 4231 HMAC-SHA-256 cases 1-7 through the pooled, pre-keyed HMAC that
// computes equality terms (case 5 checks the 128-bit truncation terms use).
func TestHMACRFC4231(t *testing.T) {
	aa := bytes.Repeat([]byte{0xaa}, 131)
	tests := []struct {
		name      string
		key, data []byte
		want      string
	}{
		{"case 1", bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"case 2 key shorter than the output", []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"case 3", bytes.Repeat([]byte{0xaa}, 20), bytes.Repeat([]byte{0xdd}, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{"case 4", seqBytes(0x01, 25), bytes.Repeat([]byte{0xcd}, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{"case 5 truncation to 128 bits", bytes.Repeat([]byte{0x0c}, 20), []byte("Test With Truncation"),
			"a3b6167473100ee06e0c796c2955552b"},
		{"case 6 key larger than a block", aa, []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"case 7 key and data larger than a block", aa, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			mp := newMACPool(tt.key)
			for round := range 2 { // the second round proves a pooled state resets to the keyed state
				s := mp.get()
				s.h.Write(tt.data)
				got := s.h.Sum(s.sum[:0])[:len(want)]
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: HMAC() = %x, want %x", round, got, want)
				}
				mp.put(s)
			}
		})
	}
}
