package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of the key material and of the envelope fields (see doc.go for the layout).
const (
	KeySize   = 32 // root keys, column keys, term keys, record keys
	TermSize  = 16 // equality term: HMAC-SHA256 truncated to 128 bits
	SaltSize  = 16 // per-record salt, input to the record-key derivation
	NonceSize = 12 // AES-GCM or ChaCha20-Poly1305 nonce (same size and place in both suites)
	TagSize   = 16 // AES-GCM or Poly1305 tag
)

// Envelope v1 constants. Offsets are 0-based; SQL substring() positions are 1-based (offset+1).
const (
	Version1 byte = 0x01 // envelope format version
	Suite1   byte = 0x01 // KBKDF-CMAC record keys, AES-256-GCM, 96-bit nonce, 128-bit tag
	Suite2   byte = 0x02 // KBKDF-CMAC record keys, ChaCha20-Poly1305 (RFC 8439), same sizes

	FlagTerm  byte = 0x01 // an equality term follows the fixed header
	FlagOrd   byte = 0x02 // an order term is present (docs/search.md §1)
	FlagMatch byte = 0x04 // match tokens are present (docs/search.md §1)

	VersionOffset    = 0
	SuiteOffset      = 1
	FlagsOffset      = 2
	KeysetOffset     = 3
	GenerationOffset = 19
	TermOffset       = 23 // SQL: substring(col from 24 for 16)

	// HeaderSize is the fixed header without a term; HeaderSizeTerm with one.
	HeaderSize     = 23
	HeaderSizeTerm = HeaderSize + TermSize

	// DirSize is the directory (u16 order-term length, u16 match-tokens length) that follows the
	// header (and equality term) when FlagOrd or FlagMatch is set.
	DirSize = 4
	// MaxTermLen bounds an order term or a match-token list (its u16 length in the directory).
	MaxTermLen = 1<<16 - 1

	// MinSize is the smallest valid envelope (no term, empty plaintext); MinSizeTerm the smallest
	// with a term.
	MinSize     = HeaderSize + SaltSize + NonceSize + TagSize
	MinSizeTerm = MinSize + TermSize

	// MaxPlaintext bounds one value: PostgreSQL cannot store a field above 1 GiB anyway, and the
	// bound keeps every length computation far from overflow.
	MaxPlaintext = 1<<30 - MinSizeTerm - DirSize - 2*MaxTermLen

	knownFlags = FlagTerm | FlagOrd | FlagMatch
)

// Sentinel errors. Callers match them with errors.Is; the wrapped text never carries key or value
// bytes.
var (
	// ErrMalformed: the bytes are not a v1 envelope of a known suite (SQLSTATE XX001 upstream).
	ErrMalformed = errors.New("malformed encrypted value")
	// ErrDecrypt is the one generic error for every authentication failure (no oracle detail).
	ErrDecrypt = errors.New("decryption failed")
	// ErrWrongKey: the header names another keyset or generation than the key offered.
	ErrWrongKey = errors.New("value was encrypted under another key")
)

// KeysetID is a keyset's UUID in its 16 raw bytes.
type KeysetID [16]byte

// String formats the id as a canonical UUID (ids are not secret).
func (id KeysetID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

// Header is the parsed, unauthenticated fixed part of an envelope. Nothing in it may be trusted
// before Open succeeds, except for routing (which key to try) and refusing early.
type Header struct {
	Version, Suite, Flags byte
	Keyset                KeysetID
	Generation            uint32
	Term                  []byte // nil unless FlagTerm; aliases the input
	Ord                   []byte // order term, nil unless FlagOrd; aliases the input
	Match                 []byte // match tokens, nil unless FlagMatch; aliases the input
}

// Terms are the search terms of one envelope: the equality term (TermSize bytes), the order term
// and the match tokens (docs/search.md), each nil when absent.
type Terms struct {
	Eq, Ord, Match []byte
}

// Terms returns the header's terms (aliasing the envelope).
func (h Header) Terms() Terms { return Terms{Eq: h.Term, Ord: h.Ord, Match: h.Match} }

// headerSize is the length of the header through the terms (where the salt starts).
func (t Terms) headerSize() int {
	n := HeaderSize
	if len(t.Eq) != 0 {
		n += TermSize
	}
	if len(t.Ord) != 0 || len(t.Match) != 0 {
		n += DirSize + len(t.Ord) + len(t.Match)
	}
	return n
}

// Size returns the header length up to the salt: HeaderSize, plus TermSize with an equality term,
// plus the directory and the order and match terms when present.
func (h Header) Size() int {
	n := HeaderSize
	if h.Flags&FlagTerm != 0 {
		n += TermSize
	}
	if h.Flags&(FlagOrd|FlagMatch) != 0 {
		n += DirSize + len(h.Ord) + len(h.Match)
	}
	return n
}

// ParseHeader validates version, suite, flags and the minimum length of env, then decodes the
// header. Every problem is an error matching ErrMalformed.
func ParseHeader(env []byte) (Header, error) {
	size, err := checkHeader(env)
	if err != nil {
		return Header{}, err
	}
	h := Header{Version: env[VersionOffset], Suite: env[SuiteOffset], Flags: env[FlagsOffset]}
	b := HeaderSize
	if h.Flags&FlagTerm != 0 {
		h.Term = env[TermOffset:HeaderSizeTerm:HeaderSizeTerm]
		b = HeaderSizeTerm
	}
	if h.Flags&(FlagOrd|FlagMatch) != 0 {
		start := b + DirSize
		mid := start + int(binary.BigEndian.Uint16(env[b:])) // checkHeader bounded both lengths
		if mid != start {
			h.Ord = env[start:mid:mid]
		}
		if size != mid {
			h.Match = env[mid:size:size]
		}
	}
	copy(h.Keyset[:], env[KeysetOffset:GenerationOffset])
	h.Generation = binary.BigEndian.Uint32(env[GenerationOffset:TermOffset])
	return h, nil
}

// checkHeader is ParseHeader's validation: it returns the header's length (where the salt
// starts) or an error matching ErrMalformed. Open calls it instead of ParseHeader because
// building and copying a Header cost ≈ 20 ns of a ≈ 350 ns open (BenchmarkOpen).
func checkHeader(env []byte) (size int, err error) {
	// NOTE: the minimum length is checked before any field is read or sliced.
	if len(env) < MinSize {
		return 0, fmt.Errorf("%w: %d bytes, need at least %d", ErrMalformed, len(env), MinSize)
	}
	version, suite, flags := env[VersionOffset], env[SuiteOffset], env[FlagsOffset]
	if version != Version1 {
		return 0, fmt.Errorf("%w: unknown version %d", ErrMalformed, version)
	}
	if !knownSuite(suite) {
		return 0, fmt.Errorf("%w: unknown suite %d", ErrMalformed, suite)
	}
	if flags&^knownFlags != 0 {
		return 0, fmt.Errorf("%w: unknown flags %#02x", ErrMalformed, flags)
	}
	size = HeaderSize
	if flags&FlagTerm != 0 {
		if len(env) < MinSizeTerm {
			return 0, fmt.Errorf("%w: %d bytes, need at least %d with a term", ErrMalformed, len(env), MinSizeTerm)
		}
		size = HeaderSizeTerm
	}
	if flags&(FlagOrd|FlagMatch) != 0 {
		b := size
		// The lengths are bounded by u16, so no sum below can overflow an int.
		if len(env) < b+DirSize+MinSize-HeaderSize {
			return 0, fmt.Errorf("%w: %d bytes, too short for a term directory", ErrMalformed, len(env))
		}
		lo := int(binary.BigEndian.Uint16(env[b:]))
		lm := int(binary.BigEndian.Uint16(env[b+2:]))
		if (lo != 0) != (flags&FlagOrd != 0) || (lm != 0) != (flags&FlagMatch != 0) {
			return 0, fmt.Errorf("%w: term directory inconsistent with flags %#02x", ErrMalformed, flags)
		}
		size = b + DirSize + lo + lm
		if len(env) < size+MinSize-HeaderSize {
			return 0, fmt.Errorf("%w: %d bytes, too short for its terms", ErrMalformed, len(env))
		}
	}
	return size, nil
}

// SealedSize returns the envelope length for a plaintext of n bytes with or without an equality
// term (and no order or match terms).
func SealedSize(n int, withTerm bool) int {
	if withTerm {
		return n + MinSizeTerm
	}
	return n + MinSize
}

// SealedSizeTerms returns the envelope length for a plaintext of n bytes with terms t.
func SealedSizeTerms(n int, t Terms) int {
	return n + t.headerSize() + MinSize - HeaderSize
}

// putHeader writes the header and terms into out, which has room for them, and returns the
// header's length (where the salt starts).
func putHeader(out []byte, suite byte, ks KeysetID, gen uint32, t Terms) int {
	out[VersionOffset] = Version1
	out[SuiteOffset] = suite
	flags := byte(0)
	copy(out[KeysetOffset:GenerationOffset], ks[:])
	binary.BigEndian.PutUint32(out[GenerationOffset:TermOffset], gen)
	n := HeaderSize
	if len(t.Eq) != 0 {
		flags |= FlagTerm
		n += copy(out[TermOffset:HeaderSizeTerm], t.Eq)
	}
	if len(t.Ord) != 0 || len(t.Match) != 0 {
		if len(t.Ord) != 0 {
			flags |= FlagOrd
		}
		if len(t.Match) != 0 {
			flags |= FlagMatch
		}
		binary.BigEndian.PutUint16(out[n:], uint16(len(t.Ord)))
		binary.BigEndian.PutUint16(out[n+2:], uint16(len(t.Match)))
		n += DirSize
		n += copy(out[n:], t.Ord)
		n += copy(out[n:], t.Match)
	}
	out[FlagsOffset] = flags
	return n
}

// sameKey compares the keyset and generation in env's header (at least HeaderSize bytes) with
// ks and gen without early exit; they are not secret, but there is no reason to leak which field
// differed through timing either. (Word XORs: two subtle.ConstantTimeCompare calls cost ≈ 15 ns,
// 4% of an open.) It reads env directly: a Header's keyset, assembled by a copy, is slow to load
// back as words.
func sameKey(env []byte, ks *KeysetID, gen uint32) bool {
	le := binary.LittleEndian
	_ = env[TermOffset-1]
	d := (le.Uint64(env[KeysetOffset:]) ^ le.Uint64(ks[0:8])) | // ^ and | bind equally in Go
		(le.Uint64(env[KeysetOffset+8:]) ^ le.Uint64(ks[8:16])) |
		uint64(binary.BigEndian.Uint32(env[GenerationOffset:])^gen)
	return d == 0
}
