package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// recordKDF derives record keys: NIST SP 800-108r1 KDF in counter mode with AES-256-CMAC
// (NIST SP 800-38B) as the PRF, keyed once per column with K_col:
//
//	K_rec = PRF(K_col, [1]_32 || Label || 0x00 || salt || [256]_32)
//	     || PRF(K_col, [2]_32 || Label || 0x00 || salt || [256]_32),  Label = "pgseal/v1/rec"
//
// (r = 32-bit counter before the fixed input, L = 256 as a 32-bit field: the layout OpenSSL's
// KBKDF and pyca/cryptography's KBKDFCMAC produce.) The AES key schedule and CMAC subkeys are
// computed once per column, so a record key costs four AES block encryptions instead of an
// HKDF-Expand HMAC (see doc.go for the measurements that motivated this).
type recordKDF struct {
	block  cipher.Block // AES-256 keyed with K_col; safe for concurrent use
	k1, k2 [16]byte     // CMAC subkeys
	c1     [2][16]byte  // CBC-MAC state after the first, salt-independent block, per counter
	// b2 and b3 are the second and (padded, K2-masked) last CMAC blocks of the input with a zero
	// salt; derive XORs the salt's bytes into them (the rest of those blocks is fixed).
	b2, b3 [16]byte
}

// recInputSize is the length of the fixed PRF input: counter, label, separator, salt, length.
const recInputSize = 4 + len(labelRec) + 1 + SaltSize + 4

// saltNotInFirstBlock fails to compile if the salt would start inside the first CMAC block.
var _ [4 + len(labelRec) + 1 - 16]struct{}

func newRecordKDF(kcol []byte) (*recordKDF, error) {
	b, err := aes.NewCipher(kcol)
	if err != nil {
		return nil, fmt.Errorf("record kdf: %w", err)
	}
	r := &recordKDF{block: b}
	r.k1, r.k2 = cmacSubkeys(b)
	// NOTE: the first 16 input bytes are [i]_32 || Label[:12]; they do not depend on the salt
	// (saltNotInFirstBlock asserts it), so their CBC-MAC step is done here once.
	for i := range r.c1 {
		var in [recInputSize]byte
		putRecInput(in[:], uint32(i+1), make([]byte, SaltSize))
		b.Encrypt(r.c1[i][:], in[:16])
		if i == 0 { // the later blocks do not depend on the counter
			copy(r.b2[:], in[16:32])
			r.b3[len(in)-32] = 0x80
			copy(r.b3[:], in[32:])
			subtle.XORBytes(r.b3[:], r.b3[:], r.k2[:])
		}
	}
	return r, nil
}

// putRecInput writes the SP 800-108 fixed input for counter i and salt into in.
func putRecInput(in []byte, i uint32, salt []byte) {
	binary.BigEndian.PutUint32(in[0:4], i)
	n := 4 + copy(in[4:], labelRec)
	in[n] = 0
	n += 1 + copy(in[n+1:], salt)
	binary.BigEndian.PutUint32(in[n:], KeySize*8)
}

// kdfScratch holds the working blocks of one derivation. The cipher.Block interface call makes
// any slice passed to Encrypt escape, so these live in a pooled object rather than on the stack.
type kdfScratch struct {
	in    [recInputSize]byte
	state [16]byte
	last  [16]byte
	x     [2][16]byte // the two counters' CBC-MAC states in derive
}

// Where the salt sits in the 38-byte fixed input: bytes saltAt..saltAt+15, that is the last
// saltInB2 bytes of the second CMAC block and the first bytes of the third, partial one
// (lastBlock bytes, then CMAC padding). The array sizes fail to compile if the label's length
// ever moves them out of that shape.
const (
	saltAt    = 4 + len(labelRec) + 1
	saltInB2  = 32 - saltAt
	lastBlock = recInputSize - 32
)

var (
	_ [saltAt - 17]struct{}    // the salt starts after byte 16...
	_ [31 - saltAt]struct{}    // ...inside the second block
	_ [lastBlock - 1]struct{}  // the third block is not empty...
	_ [15 - lastBlock]struct{} // ...and partial, so it is padded and masked with K2
)

// derive writes the 32-byte record key for salt into out. It is the CMAC of putRecInput's input
// for counters 1 and 2, computed from the per-column precomputation: for each counter, E(c1 ⊕ b2
// ⊕ salt[:14]) then E(that ⊕ b3 ⊕ salt[14:]). The two counters' chains are independent and
// interleaved so that the CPU overlaps their AES rounds. TestRecordKeyMatchesCMAC checks it
// against the plain CMAC (cmac) of the full input, and TestRecordKeyVectors against pyca.
func (r *recordKDF) derive(out *[KeySize]byte, salt []byte, s *kdfScratch) {
	_ = salt[SaltSize-1]
	m := r.b2
	xorInto(m[16-saltInB2:], salt[:saltInB2])
	xor16(&s.x[0], &r.c1[0], &m)
	xor16(&s.x[1], &r.c1[1], &m)
	r.block.Encrypt(s.x[0][:], s.x[0][:])
	r.block.Encrypt(s.x[1][:], s.x[1][:])
	m = r.b3
	xorInto(m[:SaltSize-saltInB2], salt[saltInB2:])
	xor16(&s.x[0], &s.x[0], &m)
	xor16(&s.x[1], &s.x[1], &m)
	r.block.Encrypt(out[:16], s.x[0][:])
	r.block.Encrypt(out[16:], s.x[1][:])
	s.x = [2][16]byte{}
	clear(m[:]) // holds K2 ⊕ the last block (best-effort, as every scratch clear)
}

// xor16 sets *dst = *a ⊕ *b.
func xor16(dst, a, b *[16]byte) {
	le := binary.LittleEndian
	le.PutUint64(dst[0:], le.Uint64(a[0:])^le.Uint64(b[0:]))
	le.PutUint64(dst[8:], le.Uint64(a[8:])^le.Uint64(b[8:]))
}

// xorInto XORs src into dst (same length, at most 16 bytes).
func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// cmacFrom finishes a CMAC whose CBC-MAC state after the full blocks already processed is
// s.state, over rest (non-empty, not aliasing s.state or s.last). out receives the 16-byte tag.
func (r *recordKDF) cmacFrom(out []byte, s *kdfScratch, rest []byte) {
	for len(rest) > 16 {
		subtle.XORBytes(s.state[:], s.state[:], rest[:16])
		r.block.Encrypt(s.state[:], s.state[:])
		rest = rest[16:]
	}
	s.last = [16]byte{}
	n := copy(s.last[:], rest)
	if n == 16 {
		subtle.XORBytes(s.last[:], s.last[:], r.k1[:])
	} else {
		s.last[n] = 0x80
		subtle.XORBytes(s.last[:], s.last[:], r.k2[:])
	}
	subtle.XORBytes(s.state[:], s.state[:], s.last[:])
	r.block.Encrypt(out, s.state[:])
}

// cmac computes AES-CMAC(K_col, msg) from scratch (SP 800-38B). Only the test vectors use it; it
// shares cmacFrom with the hot path, so the vectors check the code that derives record keys.
func (r *recordKDF) cmac(out, msg []byte) {
	s := new(kdfScratch)
	if len(msg) == 0 { // the empty message is one padded block
		s.last[0] = 0x80
		subtle.XORBytes(s.last[:], s.last[:], r.k2[:])
		r.block.Encrypt(out, s.last[:])
		return
	}
	r.cmacFrom(out, s, msg)
}

// cmacSubkeys returns K1 = dbl(E_K(0)) and K2 = dbl(K1) (SP 800-38B §6.1).
func cmacSubkeys(b cipher.Block) (k1, k2 [16]byte) {
	var l [16]byte
	b.Encrypt(l[:], l[:])
	k1 = dbl(l)
	k2 = dbl(k1)
	clear(l[:])
	return k1, k2
}

// dbl multiplies by x in GF(2^128) with the CMAC polynomial (R = 0x87), in constant time.
func dbl(x [16]byte) [16]byte {
	var y [16]byte
	msb := x[0] >> 7
	for i := range 15 {
		y[i] = x[i]<<1 | x[i+1]>>7
	}
	y[15] = x[15]<<1 ^ byte(subtle.ConstantTimeSelect(int(msb), 0x87, 0))
	return y
}
