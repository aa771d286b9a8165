package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// Wrapped-blob layout: version (1) || nonce (12) || ciphertext || tag (16).
const (
	wrapVersion byte = 0x01
	// WrapOverhead is len(Wrap(...)) - len(plaintext).
	WrapOverhead = 1 + NonceSize + TagSize
)

// Wrap encrypts plaintext (a key, or any small secret) under kek with AES-256-GCM and a random
// nonce, binding aad. kek must be KeySize bytes. The nonce is drawn inside the FIPS module
// (cipher.NewGCMWithRandomNonce); a KEK must therefore not wrap more than 2^32 blobs
// (NIST SP 800-38D), far above any keyring's size.
func Wrap(kek Secret, plaintext, aad []byte) ([]byte, error) {
	if kek.Len() != KeySize {
		return nil, fmt.Errorf("wrap: key encryption key %w", errKeySize)
	}
	aead, err := newAEAD(kek.Bytes(), true)
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	out := make([]byte, 1, WrapOverhead+len(plaintext))
	out[0] = wrapVersion
	return aead.Seal(out, nil, plaintext, wrapAAD(out[0], aad)), nil
}

// Unwrap reverses Wrap. Every failure (wrong key, wrong aad, tampering, truncation, unknown
// version) is ErrDecrypt, so an attacker learns nothing from which check failed.
func Unwrap(kek Secret, blob, aad []byte) ([]byte, error) {
	if kek.Len() != KeySize || len(blob) < WrapOverhead || blob[0] != wrapVersion {
		return nil, ErrDecrypt
	}
	aead, err := newAEAD(kek.Bytes(), true)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt, err := aead.Open(nil, nil, blob[1:], wrapAAD(blob[0], aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// wrapAAD = "pgseal/v1/wrap" || 0x00 || version || aad: the version byte is authenticated and a
// wrapped key can never be confused with a value envelope (different label).
func wrapAAD(version byte, aad []byte) []byte {
	b := make([]byte, 0, len(labelWrap)+2+len(aad))
	b = append(b, labelWrap...)
	b = append(b, 0, version)
	return append(b, aad...)
}

// MAC returns HMAC-SHA256(key, label || 0x00 || data), e.g. over a whole keyring file. label is a
// program constant without NUL bytes (it separates uses of one key).
func MAC(key Secret, label string, data []byte) []byte {
	h := hmac.New(sha256.New, key.Bytes())
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

// VerifyMAC reports, in constant time, whether mac is MAC(key, label, data).
func VerifyMAC(key Secret, label string, data, mac []byte) bool {
	return hmac.Equal(MAC(key, label, data), mac)
}

// DeriveKey returns HKDF-Expand(key, label || 0x00 || context, 32) for subkeys such as the keyring
// MAC key. key should be KeySize uniform bytes (Extract is skipped, RFC 5869 §3.3).
func DeriveKey(key Secret, label string, context []byte) Secret {
	k, err := expandKey(key.Bytes(), label, context)
	if err != nil {
		// Unreachable: HKDF-Expand fails only for lengths above 255*32 bytes.
		panic("BUG: HKDF-Expand of 32 bytes failed: " + err.Error())
	}
	return Secret{b: k}
}
