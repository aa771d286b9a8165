package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Order terms and match tokens (docs/search.md §2 and §3).

const (
	labelOrd   = "pgseal/v1/ord"   // K_ord ‖ K_ord' = HKDF-Expand(indexRoot, labelOrd||0||ks||gen||domain, 64)
	labelMatch = "pgseal/v1/match" // K_match = HKDF-Expand(indexRoot, labelMatch||0||ks||gen||domain)

	// OrdTermPrefix is the length of an order term's keyset prefix: keyset id ‖ 0x01.
	OrdTermPrefix = 17
	// ordTermVersion is the byte after the keyset id in every order term.
	ordTermVersion byte = 0x01
	// MaxOrdForm bounds a variable-width order form so that its term fits the envelope
	// directory's u16 length: 17 + 2·(9·n+1) ≤ MaxTermLen.
	MaxOrdForm = (MaxTermLen-OrdTermPrefix)/2/9 - 1
	// ordMod is the modulus of the PRF output: numbers r + b fit in two bytes.
	ordMod = 65535
)

// OrdKey is the order-term key of one (keyset, index generation, search domain): two AES-256
// keys, K_ord for the PRF (one block per 3 bits) and K_ord' for the chaining value between 64-bit
// chunks. It is safe for concurrent use (cipher.Block is; scratch buffers are pooled).
type OrdKey struct {
	ks      KeysetID
	gen     uint32
	prf     cipher.Block // K_ord
	chain   cipher.Block // K_ord'
	scratch sync.Pool    // *ordScratch
}

type ordScratch struct {
	words []uint64 // the bit string, MSB first
	in    [aes.BlockSize]byte
	out   [aes.BlockSize]byte
	c     [aes.BlockSize]byte // C_j
}

// NewOrdKey derives K_ord ‖ K_ord' = HKDF-Expand(indexRoot, "pgseal/v1/ord"||0x00||ks||gen||domain,
// 64): the first 32 bytes key the PRF, the last 32 the chunk chaining.
func NewOrdKey(indexRoot Secret, ks KeysetID, gen uint32, domain string) (*OrdKey, error) {
	if indexRoot.Len() != KeySize {
		return nil, fmt.Errorf("ord key: index root %w", errKeySize)
	}
	if domain == "" {
		return nil, errors.New("ord key: domain must not be empty")
	}
	info := append([]byte(labelOrd), 0)
	info = append(info, ks[:]...)
	info = append(info, genBytes(gen)...)
	info = append(info, domain...)
	km, err := hkdf.Expand(sha256.New, indexRoot.Bytes(), string(info), 2*KeySize)
	if err != nil {
		return nil, fmt.Errorf("ord key: %w", err)
	}
	defer clear(km)
	prf, err := aes.NewCipher(km[:KeySize])
	if err != nil {
		return nil, fmt.Errorf("ord key: %w", err)
	}
	chain, err := aes.NewCipher(km[KeySize:])
	if err != nil {
		return nil, fmt.Errorf("ord key: %w", err)
	}
	k := &OrdKey{ks: ks, gen: gen, prf: prf, chain: chain}
	k.scratch.New = func() any { return &ordScratch{words: make([]uint64, 0, 24)} }
	return k, nil
}

// Keyset returns the keyset this key belongs to.
func (k *OrdKey) Keyset() KeysetID { return k.ks }

// Generation returns the index generation this key belongs to.
func (k *OrdKey) Generation() uint32 { return k.gen }

// OrdTermSize returns the length of the order term of an order form of n bytes: fixed-width
// forms give 8·n bits, variable-width ones 9·n+1.
func OrdTermSize(n int, variable bool) int {
	bits := 8 * n
	if variable {
		bits = 9*n + 1
	}
	return OrdTermPrefix + 2*bits
}

// Term appends the order term of an order form (value.OrderForm) to dst: keyset id ‖ 0x01 ‖ one
// big-endian u16 per bit of the form's bit string (docs/search.md §2). variable selects the
// variable-width bit string (numeric, text: a 1 bit before every byte, a final 0 bit) over the
// form's own bits (integers, floats, dates, timestamps). A variable form longer than MaxOrdForm
// bytes (or a fixed one longer than MaxOrdForm·9/8) is refused: its term would not fit the
// envelope. It allocates nothing beyond dst's growth.
func (k *OrdKey) Term(dst, form []byte, variable bool) ([]byte, error) {
	if len(form) > MaxOrdForm {
		return dst, fmt.Errorf("ord term: order form of %d bytes exceeds %d", len(form), MaxOrdForm)
	}
	s := k.scratch.Get().(*ordScratch)
	defer k.scratch.Put(s)
	nbits := packBits(s, form, variable)
	ret, out := sliceForAppend(dst, OrdTermPrefix+2*nbits)
	copy(out, k.ks[:])
	out[16] = ordTermVersion
	num := out[OrdTermPrefix:]
	be := binary.BigEndian
	var ch, cl uint64 // C_j as two big-endian halves; C_0 = 0
	for j := 0; j*64 < nbits; j++ {
		w := s.words[j]
		n := min(64, nbits-j*64)
		// One AES block per group of 3 bits, on the input for the group's first bit t: its
		// output's 16-bit numbers v0..v6 give r_t = v0, r_(t+1) = v(1+b_t) and
		// r_(t+2) = v(3+2·b_t+b_(t+1)), each mod 65535, so every r depends on its own prefix only.
		for t := 0; t < n; t += 3 {
			be.PutUint64(s.in[:8], ch^uint64(t)<<56)
			be.PutUint64(s.in[8:], cl^(w>>(64-t)<<(64-t))) // the bits before t (none for t = 0)
			k.prf.Encrypt(s.out[:], s.in[:])
			i := 2 * (64*j + t)
			b0 := (w >> (63 - t)) & 1
			be.PutUint16(num[i:], uint16(uint64(be.Uint16(s.out[0:]))%ordMod+b0))
			if t+1 < n {
				b1 := (w >> (62 - t)) & 1
				be.PutUint16(num[i+2:], uint16(uint64(be.Uint16(s.out[2+2*b0:]))%ordMod+b1))
				if t+2 < n {
					b2 := (w >> (61 - t)) & 1
					be.PutUint16(num[i+4:], uint16(uint64(be.Uint16(s.out[6+4*b0+2*b1:]))%ordMod+b2))
				}
			}
		}
		if (j+1)*64 < nbits { // C_(j+1) = AES(K_ord', C_j ⊕ (64, whole chunk))
			be.PutUint64(s.in[:8], ch^64<<56)
			be.PutUint64(s.in[8:], cl^w)
			k.chain.Encrypt(s.c[:], s.in[:])
			ch, cl = be.Uint64(s.c[:8]), be.Uint64(s.c[8:])
		}
	}
	clear(s.in[:])
	clear(s.out[:])
	clear(s.c[:])
	return ret, nil
}

// packBits writes form's bit string into s.words (MSB first, zero-padded) and returns its length.
func packBits(s *ordScratch, form []byte, variable bool) int {
	nbits := 8 * len(form)
	if variable {
		nbits = 9*len(form) + 1
	}
	nw := (nbits + 63) / 64
	if cap(s.words) < nw {
		s.words = make([]uint64, nw)
	}
	s.words = s.words[:nw]
	clear(s.words)
	if !variable {
		for i, c := range form {
			s.words[i/8] |= uint64(c) << (56 - 8*(i%8))
		}
		return nbits
	}
	pos := 0
	put := func(v uint64, n int) { // append the n low bits of v
		for n > 0 {
			w, off := pos/64, pos%64
			take := min(n, 64-off)
			chunk := (v >> (n - take)) & (1<<take - 1)
			s.words[w] |= chunk << (64 - off - take)
			pos += take
			n -= take
		}
	}
	for _, c := range form {
		put(0x100|uint64(c), 9)
	}
	put(0, 1)
	return nbits
}

// MatchKey is the match-token key of one (keyset, index generation, search domain). It is safe
// for concurrent use: each call borrows a pre-keyed HMAC state from a pool.
type MatchKey struct {
	ks  KeysetID
	gen uint32
	mac *macPool // pre-keyed with K_match
}

// MatchTokenSize is the length of one match token before hex encoding.
const MatchTokenSize = 2

// NewMatchKey derives K_match = HKDF-Expand(indexRoot, "pgseal/v1/match"||0x00||ks||gen||domain, 32).
func NewMatchKey(indexRoot Secret, ks KeysetID, gen uint32, domain string) (*MatchKey, error) {
	if indexRoot.Len() != KeySize {
		return nil, fmt.Errorf("match key: index root %w", errKeySize)
	}
	if domain == "" {
		return nil, errors.New("match key: domain must not be empty")
	}
	km, err := expandKey(indexRoot.Bytes(), labelMatch, ks[:], genBytes(gen), []byte(domain))
	if err != nil {
		return nil, fmt.Errorf("match key: %w", err)
	}
	defer clear(km)
	return &MatchKey{ks: ks, gen: gen, mac: newMACPool(km)}, nil
}

// Keyset returns the keyset this key belongs to.
func (k *MatchKey) Keyset() KeysetID { return k.ks }

// Generation returns the index generation this key belongs to.
func (k *MatchKey) Generation() uint32 { return k.gen }

// Token returns the token of one trigram (the UTF-8 bytes of three case-folded characters): the
// first two bytes of HMAC-SHA256(K_match, trigram) as a big-endian number.
func (k *MatchKey) Token(trigram []byte) uint16 {
	s := k.mac.get()
	s.buf = append(s.buf[:0], trigram...)
	s.h.Write(s.buf)
	v := binary.BigEndian.Uint16(s.h.Sum(s.sum[:0]))
	k.mac.put(s)
	return v
}
