package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"sync"
)

// ColumnKey is the precomputed material for one (keyset, data generation, column id): the record
// KDF keyed with K_col. Seal writes its suite; Open accepts every known suite (the header's suite
// byte picks the AEAD). It is safe for concurrent use and never caches record keys.
type ColumnKey struct {
	ks      KeysetID
	gen     uint32
	suite   byte       // the suite Seal writes
	rec     *recordKDF // keyed with K_col
	aadTail []byte     // u16len(colID) || colID, appended to every AAD
	scratch sync.Pool

	// rand, when non-nil, supplies salt and nonce (tests freeze known-answer vectors with it).
	// nil means crypto/rand.
	rand io.Reader
	// randomNonceGCM seals with cipher.NewGCMWithRandomNonce (nonce drawn inside the FIPS module)
	// instead of an explicit nonce; set when the FIPS 140-3 mode is on (see doc.go).
	randomNonceGCM bool
}

// recScratch holds per-call buffers so that Seal and Open allocate nothing themselves (suite 2
// allocates nothing at all; suite 1 only what the standard library's AES and GCM constructors do).
type recScratch struct {
	key [KeySize]byte
	kdf kdfScratch
	aad []byte
	cc  chachaAEAD // suite 2's AEAD, made on first use (see chacha.go)
	// prg supplies salts and nonces: ChaCha8 (math/rand/v2, the C2SP chacha8rand generator the Go
	// runtime uses), reseeded with 32 bytes of crypto/rand output every prgValues values. The
	// kernel's getrandom costs ≈ 2.7 ns per byte here, ≈ 80 ns for a value's 28 bytes, against
	// ≈ 30 ns for the seed's share plus the expansion (docs/crypto.md §9). Salts and nonces are
	// public and need only be unique; 32 values ride on one seed, exactly as many as the previous
	// design buffered from one getrandom call, so a copied process or VM image repeats no more
	// than it did. Under the FIPS 140-3 mode, crypto/rand (the module's DRBG) is read directly.
	prg     mrand.ChaCha8
	prgLeft int // values left before the next reseed
}

// prgValues is how many values one 32-byte crypto/rand seed of recScratch.prg serves.
const prgValues = 32

// NewColumnKey derives K_col = HKDF-Expand(root, "pgseal/v1/data"||0x00||ks||gen||columnID, 32).
// root must be KeySize bytes; columnID is the stable logical name (e.g. "public.users.email"),
// non-empty and at most 65535 bytes. suite (Suite1 or Suite2) is what Seal writes; Suite2 is
// refused when the FIPS 140-3 mode is on.
func NewColumnKey(root Secret, ks KeysetID, gen uint32, columnID string, suite byte) (*ColumnKey, error) {
	if !knownSuite(suite) {
		return nil, fmt.Errorf("column key: unknown suite %d", suite)
	}
	if suite == Suite2 && fips140.Enabled() {
		return nil, fmt.Errorf("column key: suite %q is not allowed in FIPS 140-3 mode", SuiteNameChaCha20)
	}
	if root.Len() != KeySize {
		return nil, fmt.Errorf("column key: root %w", errKeySize)
	}
	if columnID == "" || len(columnID) > math.MaxUint16 {
		return nil, errors.New("column key: column id must be 1 to 65535 bytes")
	}
	kcol, err := expandKey(root.Bytes(), labelData, ks[:], genBytes(gen), []byte(columnID))
	if err != nil {
		return nil, fmt.Errorf("column key: %w", err)
	}
	defer clear(kcol)
	rec, err := newRecordKDF(kcol)
	if err != nil {
		return nil, fmt.Errorf("column key: %w", err)
	}
	tail := binary.BigEndian.AppendUint16(nil, uint16(len(columnID)))
	k := &ColumnKey{
		ks:             ks,
		gen:            gen,
		suite:          suite,
		rec:            rec,
		aadTail:        append(tail, columnID...),
		randomNonceGCM: fips140.Enabled(),
	}
	k.scratch.New = func() any { return &recScratch{aad: make([]byte, 0, 128)} }
	return k, nil
}

// Keyset returns the keyset this key belongs to.
func (k *ColumnKey) Keyset() KeysetID { return k.ks }

// Generation returns the data generation this key belongs to.
func (k *ColumnKey) Generation() uint32 { return k.gen }

// Suite returns the suite byte Seal writes (Suite1 or Suite2).
func (k *ColumnKey) Suite() byte { return k.suite }

// Seal appends the envelope of plaintext to dst and returns the extended slice. term is nil (or
// empty) for no term, or exactly TermSize bytes (then FlagTerm is set). Every call draws a fresh
// random salt and nonce. plaintext must not overlap dst's spare capacity.
func (k *ColumnKey) Seal(dst, plaintext, term []byte) ([]byte, error) {
	return k.SealTerms(dst, plaintext, Terms{Eq: term})
}

// SealTerms is Seal with every kind of term: t.Eq is empty or TermSize bytes, t.Ord and t.Match
// are empty (absent) or at most MaxTermLen bytes each (docs/search.md §1). The terms are written
// before the salt, so the associated data covers them. No term may overlap dst's spare capacity.
func (k *ColumnKey) SealTerms(dst, plaintext []byte, t Terms) ([]byte, error) {
	if len(t.Eq) != 0 && len(t.Eq) != TermSize {
		return nil, fmt.Errorf("seal: term must be %d bytes, got %d", TermSize, len(t.Eq))
	}
	if len(t.Ord) > MaxTermLen || len(t.Match) > MaxTermLen {
		return nil, fmt.Errorf("seal: order term or match tokens longer than %d bytes", MaxTermLen)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("seal: plaintext of %d bytes exceeds %d", len(plaintext), MaxPlaintext)
	}
	ret, out := sliceForAppend(dst, SealedSizeTerms(len(plaintext), t))
	if anyOverlap(out, plaintext) || anyOverlap(out, t.Eq) || anyOverlap(out, t.Ord) || anyOverlap(out, t.Match) {
		return nil, errors.New("seal: plaintext or term overlaps the output buffer")
	}
	hs := putHeader(out, k.suite, k.ks, k.gen, t)
	saltEnd := hs + SaltSize
	s := k.scratch.Get().(*recScratch)
	defer k.putScratch(s)
	if err := k.fillRandom(s, out[hs:saltEnd], out[saltEnd:saltEnd+NonceSize]); err != nil {
		return nil, err
	}
	key := s.recordKey(k.suite)
	k.rec.derive(key, out[hs:saltEnd], &s.kdf)
	s.aad = k.appendAAD(s.aad[:0], out[:saltEnd])
	if err := k.sealBody(s, out[saltEnd:], key, plaintext, s.aad); err != nil {
		return nil, err
	}
	return ret, nil
}

// Open appends the plaintext of envelope to dst. It parses the header (ErrMalformed), checks the
// header's keyset and generation against k before any crypto (ErrWrongKey), then authenticates
// (ErrDecrypt, the same error for every failure). dst must not overlap envelope.
func (k *ColumnKey) Open(dst, envelope []byte) ([]byte, error) {
	hs, err := checkHeader(envelope)
	if err != nil {
		return nil, err
	}
	if !sameKey(envelope, &k.ks, k.gen) {
		return nil, ErrWrongKey
	}
	saltEnd := hs + SaltSize
	n := len(envelope) - saltEnd - NonceSize - TagSize
	ret, out := sliceForAppend(dst, n)
	if anyOverlap(out, envelope) {
		return nil, errors.New("open: output buffer overlaps the envelope")
	}
	s := k.scratch.Get().(*recScratch)
	defer k.putScratch(s)
	suite := envelope[SuiteOffset]
	key := s.recordKey(suite)
	k.rec.derive(key, envelope[hs:saltEnd], &s.kdf)
	s.aad = k.appendAAD(s.aad[:0], envelope[:saltEnd])
	if err := openBody(s, suite, out, key, envelope[saltEnd:], s.aad); err != nil {
		return nil, ErrDecrypt
	}
	return ret, nil
}

// appendAAD appends "pgseal/v1/aad" || header-through-salt || u16len(colID) || colID.
func (k *ColumnKey) appendAAD(aad, headerThroughSalt []byte) []byte {
	aad = append(aad, labelAAD...)
	aad = append(aad, headerThroughSalt...)
	return append(aad, k.aadTail...)
}

// fillRandom fills salt and nonce (adjacent in the envelope): from the scratch's generator,
// reseeded from crypto/rand (see recScratch.prg), or from crypto/rand directly in FIPS mode. In
// random-nonce mode (suite 1 under FIPS) the nonce is left for the FIPS module to draw.
func (k *ColumnKey) fillRandom(s *recScratch, salt, nonce []byte) error {
	buf := salt[:len(salt)+len(nonce)] // nonce directly follows salt in out
	if k.randomNonceGCM && k.rand == nil && k.suite == Suite1 {
		buf = salt
	}
	switch {
	case k.rand != nil:
		if _, err := io.ReadFull(k.rand, buf); err != nil {
			return errors.New("seal: reading randomness failed")
		}
	case k.randomNonceGCM: // FIPS 140-3 mode: the module's DRBG, nothing of our own
		_, _ = rand.Read(buf) // never fails: the runtime aborts if the OS RNG does
	default:
		if s.prgLeft == 0 {
			var seed [32]byte
			_, _ = rand.Read(seed[:])
			s.prg.Seed(seed)
			clear(seed[:])
			s.prgLeft = prgValues
		}
		s.prgLeft--
		_, _ = s.prg.Read(buf) // never fails
	}
	return nil
}

// sealBody writes ciphertext || tag after the nonce at body (nonce || ciphertext || tag, the
// nonce already in place unless suite 1's random-nonce AEAD draws it itself).
func (k *ColumnKey) sealBody(s *recScratch, body []byte, key *[KeySize]byte, plaintext, aad []byte) error {
	if k.suite == Suite2 {
		if err := chachaSeal(s.chacha(), body[NonceSize:], key, body[:NonceSize], plaintext, aad); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		return nil
	}
	randomNonce := k.randomNonceGCM && k.rand == nil
	aead, err := newAEAD(key[:], randomNonce)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if randomNonce {
		aead.Seal(body[:0], nil, plaintext, aad)
		return nil
	}
	aead.Seal(body[:NonceSize], body[:NonceSize], plaintext, aad)
	return nil
}

// openBody authenticates body (nonce || ciphertext || tag) under suite and writes the plaintext
// to out (len(body)-NonceSize-TagSize bytes). Any error means authentication failed.
func openBody(s *recScratch, suite byte, out []byte, key *[KeySize]byte, body, aad []byte) error {
	if suite == Suite2 {
		return chachaOpen(s.chacha(), out, key, body[:NonceSize], body[NonceSize:], aad)
	}
	aead, err := newAEAD(key[:], true)
	if err != nil {
		return err
	}
	_, err = aead.Open(out[:0], nil, body, aad)
	return err
}

// chacha returns s's suite 2 AEAD, making the re-keyable object on first use; its zero value
// (the fallback path) when chachaRekeyOK is false.
func (s *recScratch) chacha() *chachaAEAD {
	if s.cc.key == nil && chachaRekeyOK {
		s.cc = newRekeyedChaCha()
	}
	return &s.cc
}

// recordKey returns where a record key for suite is derived: straight into the key array of
// suite 2's re-keyed AEAD object when that path is on, which saves copying the key there and
// leaves one copy of it fewer in memory (chachaSeal and chachaOpen clear the array after use);
// s.key otherwise.
func (s *recScratch) recordKey(suite byte) *[KeySize]byte {
	if suite == Suite2 {
		if a := s.chacha(); a.key != nil {
			return a.key
		}
	}
	return &s.key
}

// putScratch clears every record key s may hold and returns it to the pool. (chachaSeal and
// chachaOpen clear the AEAD's key themselves, but not on the paths that refuse before sealing
// or opening, after recordKey had it derived there.)
func (k *ColumnKey) putScratch(s *recScratch) {
	clear(s.key[:])
	if s.cc.key != nil {
		clear(s.cc.key[:])
	}
	k.scratch.Put(s)
}

// newAEAD is the one place that builds AES-256-GCM. randomNonce selects the construction whose
// nonce is the first NonceSize bytes of the ciphertext (drawn inside the FIPS module on Seal);
// otherwise the caller passes an explicit nonce. Both produce and accept the same bytes.
func newAEAD(key []byte, randomNonce bool) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if randomNonce {
		return cipher.NewGCMWithRandomNonce(block)
	}
	return cipher.NewGCM(block)
}
