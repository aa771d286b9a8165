package crypto

import (
	"errors"
	"fmt"
)

// TermKey is the equality-term key for one (keyset, index generation, search domain). It is safe
// for concurrent use: each call borrows a pre-keyed HMAC state from a pool.
type TermKey struct {
	ks  KeysetID
	gen uint32
	mac *macPool // pre-keyed with K_eq
}

// NewTermKey derives K_eq = HKDF-Expand(indexRoot, "pgseal/v1/eq"||0x00||ks||gen||domain, 32).
// indexRoot must be KeySize bytes; domain (the column id, or a declared join domain) must be
// non-empty.
func NewTermKey(indexRoot Secret, ks KeysetID, gen uint32, domain string) (*TermKey, error) {
	if indexRoot.Len() != KeySize {
		return nil, fmt.Errorf("term key: index root %w", errKeySize)
	}
	if domain == "" {
		return nil, errors.New("term key: domain must not be empty")
	}
	keq, err := expandKey(indexRoot.Bytes(), labelEq, ks[:], genBytes(gen), []byte(domain))
	if err != nil {
		return nil, fmt.Errorf("term key: %w", err)
	}
	defer clear(keq)
	return &TermKey{ks: ks, gen: gen, mac: newMACPool(keq)}, nil
}

// Keyset returns the keyset this key belongs to.
func (k *TermKey) Keyset() KeysetID { return k.ks }

// Generation returns the index generation this key belongs to.
func (k *TermKey) Generation() uint32 { return k.gen }

// Term appends TermSize bytes to dst: Trunc128(HMAC-SHA256(K_eq, 0x01 || tag || canonical)).
// canonical is the value already in its canonical encoding (equal in PostgreSQL => equal bytes);
// tag is the type tag, so equal bytes of different types give different terms.
func (k *TermKey) Term(dst []byte, tag byte, canonical []byte) []byte {
	s := k.mac.get()
	// Two writes (prefix, then value) keep long values from being copied into the scratch.
	s.buf = append(s.buf[:0], termPrefix, tag)
	s.h.Write(s.buf)
	s.h.Write(canonical)
	dst = append(dst, s.h.Sum(s.sum[:0])[:TermSize]...)
	k.mac.put(s)
	return dst
}
