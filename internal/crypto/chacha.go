package crypto

import (
	"crypto/fips140"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // used only inside the RFC 8439 AEAD below
)

// ChaCha20-Poly1305 (RFC 8439 §2.8) for suite 2. Short values use a composition of x/crypto's
// chacha20 and poly1305, exactly as x/crypto's own generic chacha20poly1305 code does, because
// chacha20poly1305.New copies the key into a new heap object on every call (one allocation per
// value, and a copy of each record key left uncleared in garbage) and cannot be re-keyed in
// place; the composition keeps the cipher state and the one-time Poly1305 key on the stack,
// clears them and allocates nothing. Longer values (chachaAsmMin) use chacha20poly1305 itself
// for its assembly. Both give the same bytes: the composition is checked against
// chacha20poly1305 at every length around the padding and block boundaries, and both paths
// against Wycheproof and the pyca-generated envelope vectors.

var errChaChaFIPS = errors.New("ChaCha20-Poly1305 is not allowed in FIPS 140-only mode")

// chachaAsmMin is the plaintext length from which chachaSeal and chachaOpen use x/crypto's
// chacha20poly1305: its AVX2 assembly outruns the pure-Go chacha20 from about two blocks on
// (BenchmarkChaChaAEAD: 128 B 0.32 vs 0.43 µs, 1 KB 0.68 vs 2.1 µs), and one 32-byte allocation
// is small next to that work. Below it (short values: e-mails, names, numbers) the composed
// AEAD is as fast (32 B: ≈ 0.30 µs both) and allocates nothing.
const chachaAsmMin = 64

// chachaSeal writes ciphertext || tag (len(plaintext)+TagSize bytes) to out, which must not
// overlap plaintext or aad except exactly.
func chachaSeal(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
	if fips140.Enforced() {
		return errChaChaFIPS
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
// the plaintext to out (len(sealed)-TagSize bytes). Every failure is ErrDecrypt.
func chachaOpen(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
	if fips140.Enforced() || len(sealed) < TagSize {
		return ErrDecrypt
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
