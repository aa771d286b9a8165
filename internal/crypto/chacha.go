package crypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/fips140"
	"encoding/binary"
	"errors"
	"reflect"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // used only inside the RFC 8439 AEAD below
)

// ChaCha20-Poly1305 (RFC 8439 §2.8) for suite 2.
//
// The fast path is x/crypto's chacha20poly1305 (AVX2 assembly on amd64) at every size, one AEAD
// object per scratch (recScratch), re-keyed in place for each record: chacha20poly1305.New copies
// the key into a fresh heap object on every call and offers no way to change it, and a New per
// record would allocate 32 B per value and leave a copy of each record key in uncleared garbage.
// The object's concrete type is an unexported struct whose only field is the 32-byte key, so
// chachaRekeyKey reaches that array through reflect and unsafe. That is only done under a strict
// guard (docs/crypto.md §9): the exact type (package path, name, one field "key" of type
// [32]byte at offset 0, size 32) is checked, and a known-answer self-test at start-up
// (chachaRekeySelfTest) must show that a re-keyed object seals and opens exactly like a fresh
// New, for two different keys and lengths on both sides of the assembly's internal branches. If
// either check fails (a future x/crypto changed the struct), chachaRekeyOK is false and suite 2
// falls back to the code below it: an allocation-free composition of x/crypto's chacha20 and
// poly1305 (as x/crypto's own generic code does) for short values and a chacha20poly1305.New per
// record from chachaAsmMin bytes on. All paths give the same bytes: they are checked against each
// other at every length around the padding and block boundaries, against Wycheproof and against
// the pyca-generated envelope vectors. golang.org/x/crypto is pinned in go.mod.

var errChaChaFIPS = errors.New("ChaCha20-Poly1305 is not allowed in FIPS 140-only mode")

// chachaAEAD is one scratch's ChaCha20-Poly1305 object and a pointer to its own key array, or
// the zero value when the re-keyed path is off (then chachaSeal and chachaOpen fall back).
type chachaAEAD struct {
	aead cipher.AEAD
	key  *[KeySize]byte // aliases aead's key; cleared after every record
}

// chachaRekeyOK reports whether x/crypto's chacha20poly1305 objects can be re-keyed in place
// (type check and self-test passed at start-up). Tests switch it off to exercise the fallback.
var chachaRekeyOK = chachaRekeySelfTest(newRekeyedChaCha)

// newRekeyedChaCha builds a chacha20poly1305 object and locates its key array; the zero value if
// New fails (FIPS 140-only mode) or the type is not exactly the one checked for.
func newRekeyedChaCha() chachaAEAD {
	a, err := chacha20poly1305.New(make([]byte, KeySize))
	if err != nil {
		return chachaAEAD{}
	}
	key := chachaRekeyKey(a)
	if key == nil {
		return chachaAEAD{}
	}
	return chachaAEAD{aead: a, key: key}
}

// chachaRekeyKey returns a pointer to the key array inside a if a's dynamic type is exactly
// *chacha20poly1305.chacha20poly1305 from golang.org/x/crypto with a single field "key" of type
// [32]byte at offset 0 and nothing else; otherwise nil.
func chachaRekeyKey(a any) *[KeySize]byte {
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	t := v.Type().Elem()
	if t.Kind() != reflect.Struct || t.PkgPath() != "golang.org/x/crypto/chacha20poly1305" ||
		t.Name() != "chacha20poly1305" || t.NumField() != 1 || t.Size() != KeySize {
		return nil
	}
	if f := t.Field(0); f.Name != "key" || f.Offset != 0 || f.Type != reflect.TypeFor[[KeySize]byte]() {
		return nil
	}
	return (*[KeySize]byte)(v.UnsafePointer())
}

// chachaRekeySelfTest is the known-answer guard of the re-keyed path: one object from mk,
// re-keyed through its key pointer to two different keys in turn, must seal exactly as a fresh
// chacha20poly1305.New with that key and open its own output, at lengths on both sides of the
// assembly's 128- and 192-byte branches, and must fail a flipped tag.
func chachaRekeySelfTest(mk func() chachaAEAD) bool {
	a := mk()
	if a.aead == nil || a.key == nil {
		return false
	}
	nonce, aad := make([]byte, NonceSize), make([]byte, 90)
	for i := range aad {
		aad[i] = byte(i)
	}
	for i, kb := range []byte{0x42, 0xa5} {
		var key [KeySize]byte
		for j := range key {
			key[j] = kb + byte(j)
		}
		nonce[0] = byte(i)
		ref, err := chacha20poly1305.New(key[:])
		if err != nil {
			return false
		}
		for _, n := range []int{0, 32, 150, 300} {
			pt := bytes.Repeat([]byte{byte(n)}, n)
			want := ref.Seal(nil, nonce, pt, aad)
			*a.key = key
			got := a.aead.Seal(nil, nonce, pt, aad)
			back, err := a.aead.Open(nil, nonce, want, aad)
			if !bytes.Equal(got, want) || err != nil || !bytes.Equal(back, pt) {
				return false
			}
			want[len(want)-1] ^= 1
			if _, err := a.aead.Open(nil, nonce, want, aad); err == nil {
				return false
			}
		}
	}
	clear(a.key[:])
	return true
}

// chachaAsmMin is the plaintext length from which the fallback path (chachaRekeyOK false) uses
// a chacha20poly1305.New per record: its AVX2 assembly outruns the pure-Go chacha20 from about
// two blocks on (BenchmarkChaChaAEAD: 128 B 0.32 vs 0.43 µs, 1 KB 0.68 vs 2.1 µs), and one 32-byte
// allocation is small next to that work. Below it the composed AEAD is as fast and allocates
// nothing.
const chachaAsmMin = 64

// chachaSeal writes ciphertext || tag (len(plaintext)+TagSize bytes) to out, which must not
// overlap plaintext or aad except exactly. a is the scratch's AEAD (zero value: fallback).
func chachaSeal(a *chachaAEAD, out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
	if fips140.Enforced() {
		return errChaChaFIPS
	}
	if a.key != nil {
		if key != a.key { // ColumnKey derives the record key in place (recScratch.recordKey)
			*a.key = *key
		}
		a.aead.Seal(out[:0], nonce, plaintext, aad)
		clear(a.key[:])
		return nil
	}
	if len(plaintext) >= chachaAsmMin {
		aead, err := chacha20poly1305.New(key[:])
		if err != nil {
			return err
		}
		aead.Seal(out[:0], nonce, plaintext, aad)
		return nil
	}
	chachaSealComposed(out, key, nonce, plaintext, aad)
	return nil
}

// chachaSealComposed is chachaSeal without allocating (the composed RFC 8439 AEAD).
func chachaSealComposed(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) {
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce)
	if err != nil {
		panic("BUG: chacha20 refused a 32-byte key or 12-byte nonce")
	}
	defer func() { *c = chacha20.Cipher{} }()
	var polyKey [32]byte
	defer clear(polyKey[:])
	c.XORKeyStream(polyKey[:], polyKey[:])
	c.SetCounter(1) // block 0 gave the Poly1305 key; the message starts at block 1
	ct := out[:len(plaintext)]
	c.XORKeyStream(ct, plaintext)
	p := poly1305.New(&polyKey)
	chachaMAC(p, aad, ct)
	p.Sum(out[len(plaintext):len(plaintext)])
}

// chachaOpen authenticates ciphertext || tag (sealed, at least TagSize bytes) and only then writes
// the plaintext to out (len(sealed)-TagSize bytes; zeroed on failure by the assembly path). Every
// failure is ErrDecrypt. a is the scratch's AEAD (zero value: fallback).
func chachaOpen(a *chachaAEAD, out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
	if fips140.Enforced() || len(sealed) < TagSize {
		return ErrDecrypt
	}
	if a.key != nil {
		if key != a.key { // ColumnKey derives the record key in place (recScratch.recordKey)
			*a.key = *key
		}
		_, err := a.aead.Open(out[:0], nonce, sealed, aad)
		clear(a.key[:])
		if err != nil {
			return ErrDecrypt
		}
		return nil
	}
	if len(sealed)-TagSize >= chachaAsmMin {
		aead, err := chacha20poly1305.New(key[:])
		if err != nil {
			return ErrDecrypt
		}
		if _, err := aead.Open(out[:0], nonce, sealed, aad); err != nil {
			return ErrDecrypt
		}
		return nil
	}
	return chachaOpenComposed(out, key, nonce, sealed, aad)
}

// chachaOpenComposed is chachaOpen without allocating (the composed RFC 8439 AEAD).
func chachaOpenComposed(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
	ct, tag := sealed[:len(sealed)-TagSize], sealed[len(sealed)-TagSize:]
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce)
	if err != nil {
		return ErrDecrypt
	}
	defer func() { *c = chacha20.Cipher{} }()
	var polyKey [32]byte
	defer clear(polyKey[:])
	c.XORKeyStream(polyKey[:], polyKey[:])
	c.SetCounter(1)
	p := poly1305.New(&polyKey)
	chachaMAC(p, aad, ct)
	if !p.Verify(tag) { // constant time
		return ErrDecrypt
	}
	c.XORKeyStream(out[:len(ct)], ct)
	return nil
}

// chachaMAC feeds the RFC 8439 §2.8 MAC input: aad || pad16 || ct || pad16 || le64(len aad) ||
// le64(len ct).
func chachaMAC(p *poly1305.MAC, aad, ct []byte) {
	var pad [16]byte
	p.Write(aad)
	if r := len(aad) % 16; r != 0 {
		p.Write(pad[:16-r])
	}
	p.Write(ct)
	if r := len(ct) % 16; r != 0 {
		p.Write(pad[:16-r])
	}
	binary.LittleEndian.PutUint64(pad[0:8], uint64(len(aad)))
	binary.LittleEndian.PutUint64(pad[8:16], uint64(len(ct)))
	p.Write(pad[:])
}
