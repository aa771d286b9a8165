package crypto

import (
	"crypto/fips140"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/poly1305" //nolint:staticcheck // used only inside the RFC 8439 AEAD below
)

// ChaCha20-Poly1305 (RFC 8439 §2.8), composed from x/crypto's chacha20 and poly1305 exactly as
// x/crypto's own generic chacha20poly1305 code does. Why not chacha20poly1305.New: it copies the
// key into a new heap object on every call (one allocation per value, and a copy of each record
// key left uncleared in garbage), and it has no way to re-key in place. Here the cipher state and
// the one-time Poly1305 key live on the stack and are cleared; nothing is allocated. The result is
// checked byte for byte against chacha20poly1305 (differential test) and against Wycheproof.

var errChaChaFIPS = errors.New("ChaCha20-Poly1305 is not allowed in FIPS 140-only mode")

// chachaSeal writes ciphertext || tag (len(plaintext)+TagSize bytes) to out, which must not
// overlap plaintext or aad except exactly.
func chachaSeal(out []byte, key *[KeySize]byte, nonce, plaintext, aad []byte) error {
	if fips140.Enforced() {
		return errChaChaFIPS
	}
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce)
	if err != nil {
		return err
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
	return nil
}

// chachaOpen authenticates ciphertext || tag (sealed, at least TagSize bytes) and only then writes
// the plaintext to out (len(sealed)-TagSize bytes). Every failure is ErrDecrypt.
func chachaOpen(out []byte, key *[KeySize]byte, nonce, sealed, aad []byte) error {
	if fips140.Enforced() || len(sealed) < TagSize {
		return ErrDecrypt
	}
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
