package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// Domain-separation labels. Every derivation input is label || 0x00 || context, so no label is a
// prefix-collision of another and no context can be confused with a label.
const (
	labelData = "pgseal/v1/data" // K_col = HKDF-Expand(root, labelData||0||ks||gen||colID)
	labelRec  = "pgseal/v1/rec"  // K_rec = KBKDF-CMAC(K_col, labelRec, salt), see kbkdf.go
	labelAAD  = "pgseal/v1/aad"  // AAD prefix of every value
	labelEq   = "pgseal/v1/eq"   // K_eq = HKDF-Expand(indexRoot, labelEq||0||ks||gen||domain)
	labelWrap = "pgseal/v1/wrap" // AAD prefix of wrapped key blobs

	termPrefix byte = 0x01 // first byte of the term HMAC input; reserves room for other term kinds
)

var errKeySize = errors.New("key must be 32 bytes")

// expandKey runs HKDF-Expand(prk, label||0x00||parts..., KeySize) with crypto/hkdf. It is used
// once per column key, term key or DeriveKey call, never per value.
func expandKey(prk []byte, label string, parts ...[]byte) ([]byte, error) {
	info := make([]byte, 0, 64)
	info = append(info, label...)
	info = append(info, 0)
	for _, p := range parts {
		info = append(info, p...)
	}
	return hkdf.Expand(sha256.New, prk, string(info), KeySize)
}

// genBytes encodes a generation as in the envelope header (big-endian uint32).
func genBytes(gen uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, gen)
}

// macPool hands out HMAC-SHA256 states pre-keyed with one key. An HMAC object is not safe for
// concurrent use, and re-keying costs two extra SHA-256 blocks, so each goroutine borrows a keyed
// state and Reset()s it (which restores the keyed state without re-hashing the key).
type macPool struct {
	p sync.Pool
}

// macScratch is one pooled state plus room for a digest and an input, so nothing allocates per
// call (a slice literal passed to an interface method would escape to the heap).
type macScratch struct {
	h   hash.Hash
	sum [sha256.Size]byte
	buf []byte
}

func newMACPool(key []byte) *macPool {
	k := append([]byte(nil), key...)
	mp := &macPool{}
	mp.p.New = func() any {
		return &macScratch{h: hmac.New(sha256.New, k), buf: make([]byte, 0, 64)}
	}
	return mp
}

func (mp *macPool) get() *macScratch { return mp.p.Get().(*macScratch) }

func (mp *macPool) put(s *macScratch) {
	s.h.Reset()
	clear(s.sum[:])
	clear(s.buf[:cap(s.buf)])
	s.buf = s.buf[:0]
	mp.p.Put(s)
}
