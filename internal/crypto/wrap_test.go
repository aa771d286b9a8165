package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestWrapUnwrap(t *testing.T) {
	kek := NewSecret(seqBytes(0x50, KeySize))
	root := seqBytes(0x10, KeySize)
	aad := []byte("keyset 1 data gen 3")
	blob, err := Wrap(kek, root, aad)
	if err != nil || len(blob) != len(root)+WrapOverhead {
		t.Fatalf("Wrap() = %d bytes, %v, want %d", len(blob), err, len(root)+WrapOverhead)
	}
	if again, _ := Wrap(kek, root, aad); bytes.Equal(again, blob) {
		t.Fatal("Wrap() twice gave equal blobs, want a fresh nonce")
	}
	if got, err := Unwrap(kek, blob, aad); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Unwrap() = %x, %v, want %x", got, err, root)
	}
	bad := map[string]func() ([]byte, error){
		"wrong kek":   func() ([]byte, error) { return Unwrap(NewSecret(seqBytes(0x51, KeySize)), blob, aad) },
		"wrong aad":   func() ([]byte, error) { return Unwrap(kek, blob, []byte("keyset 2 data gen 3")) },
		"missing aad": func() ([]byte, error) { return Unwrap(kek, blob, nil) },
		"short kek":   func() ([]byte, error) { return Unwrap(NewSecret(make([]byte, 16)), blob, aad) },
		"empty blob":  func() ([]byte, error) { return Unwrap(kek, nil, aad) },
	}
	for i := range len(blob) * 8 {
		mut := bytes.Clone(blob)
		mut[i/8] ^= 1 << (i % 8)
		if _, err := Unwrap(kek, mut, aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Unwrap(bit %d flipped) error = %v, want ErrDecrypt", i, err)
		}
	}
	for n := range len(blob) {
		if _, err := Unwrap(kek, blob[:n], aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Unwrap(first %d bytes) error = %v, want ErrDecrypt", n, err)
		}
	}
	for name, f := range bad {
		if got, err := f(); !errors.Is(err, ErrDecrypt) || got != nil {
			t.Errorf("Unwrap(%s) = %x, %v, want ErrDecrypt", name, got, err)
		}
	}
	if _, err := Wrap(NewSecret(make([]byte, 31)), root, aad); err == nil {
		t.Error("Wrap(31-byte kek) error = nil, want refusal")
	}
}

func TestMAC(t *testing.T) {
	key := NewSecret(seqBytes(0x70, KeySize))
	data := []byte(`{"epoch":7}`)
	mac := MAC(key, "pgseal/v1/keyring-mac", data)
	if len(mac) != sha256.Size || !VerifyMAC(key, "pgseal/v1/keyring-mac", data, mac) {
		t.Fatalf("MAC() = %x, verify false, want a verifying 32-byte MAC", mac)
	}
	tests := []struct {
		name      string
		key       Secret
		label     string
		data, mac []byte
	}{
		{"another key", NewSecret(seqBytes(0x71, KeySize)), "pgseal/v1/keyring-mac", data, mac},
		{"another label", key, "pgseal/v1/other", data, mac},
		{"other data", key, "pgseal/v1/keyring-mac", []byte(`{"epoch":6}`), mac},
		{"truncated mac", key, "pgseal/v1/keyring-mac", data, mac[:16]},
		{"no mac", key, "pgseal/v1/keyring-mac", data, nil},
	}
	for _, tt := range tests {
		t.Run("a MAC under "+tt.name+" does not verify", func(t *testing.T) {
			if VerifyMAC(tt.key, tt.label, tt.data, tt.mac) {
				t.Fatal("VerifyMAC() = true, want false")
			}
		})
	}
}

func TestDeriveKey(t *testing.T) {
	key := NewSecret(seqBytes(0x90, KeySize))
	got := DeriveKey(key, "pgseal/v1/keyring-mac", []byte("ctx"))
	want, _ := hkdf.Expand(sha256.New, key.Bytes(), "pgseal/v1/keyring-mac\x00ctx", KeySize)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("DeriveKey() = %x, want HKDF-Expand %x", got.Bytes(), want)
	}
	if DeriveKey(key, "pgseal/v1/keyring-mac", []byte("ctx2")).Equal(got) ||
		DeriveKey(key, "pgseal/v1/other", []byte("ctx")).Equal(got) {
		t.Fatal("DeriveKey() with another label or context = same key, want different")
	}
}
