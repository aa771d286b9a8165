// Package crypto is pgseal's value cryptography: the stored envelope of an encrypted column, the
// per-record key derivation, the two AEAD suites (AES-256-GCM, ChaCha20-Poly1305), equality terms,
// key wrapping and MACs for the keyring.
//
// It knows bytes only: no SQL, no PostgreSQL types (callers pass already-encoded plaintext and
// canonical term input), no keyring, no caching of column keys (the keyring/wire layer keeps
// ColumnKey and TermKey values in its own bounded cache). Standard library, plus
// golang.org/x/crypto's chacha20 and poly1305 for suite 2 (the standard library has no public
// ChaCha20-Poly1305).
//
// # Envelope v1 (stored as bytea; integers big-endian; offsets fixed)
//
//	offset  len  field
//	0        1   version 0x01            unknown version: ErrMalformed, never "try anyway"
//	1        1   suite   0x01 or 0x02    record key by SP 800-108 KBKDF-CMAC, then 0x01 AES-256-GCM
//	                                     or 0x02 ChaCha20-Poly1305 (RFC 8439); SQL: get_byte(col, 1)
//	2        1   flags                   bit0 FlagTerm; other bits must be zero
//	3       16   keyset id (UUID)        SQL: substring(col from 4 for 16)
//	19       4   data generation         SQL: substring(col from 20 for 4)
//	23      16   equality term           only if FlagTerm; SQL: substring(col from 24 for 16)
//	h       16   salt                    h = 23, or 39 with a term
//	h+16    12   nonce                   GCM or ChaCha20 nonce, random in both suites
//	h+28     n   ciphertext              n = len(plaintext)
//	h+28+n  16   tag                     GCM or Poly1305 tag
//
// Both suites have the same layout and sizes. Overhead is MinSize = 67 bytes (83 with a term);
// SealedSize computes it. The frozen vectors in testdata/vectors_v1.json (suite 1) and
// testdata/vectors_v1_suite2.json (suite 2), computed independently by testdata/gen_vectors.py
// with pyca/cryptography, make any change of these bytes fail TestEnvelopeVectors.
//
// # Keys
//
//	K_col = HKDF-Expand(root[g], "pgseal/v1/data" || 0x00 || ks || u32(g) || columnID, 32)
//	K_rec = KBKDF-CTR-CMAC(K_col, label "pgseal/v1/rec", context salt, L = 256)   (per value)
//	AAD   = "pgseal/v1/aad" || envelope[0 : h+16] || u16(len(columnID)) || columnID
//	body  = AEAD_suite(K_rec).Seal(nonce, plaintext, AAD)           (same K_rec and AAD for both)
//	K_eq  = HKDF-Expand(indexRoot[h], "pgseal/v1/eq" || 0x00 || ks || u32(h) || domain, 32)
//	term  = first 16 bytes of HMAC-SHA256(K_eq, 0x01 || typeTag || canonical)
//
// HKDF Extract is skipped because roots are uniform random keys (RFC 5869 §3.3). KBKDF-CTR-CMAC is
// NIST SP 800-108r1 counter mode, PRF = AES-256-CMAC (SP 800-38B), 32-bit counter before the fixed
// input Label || 0x00 || Context || [L]_32 — the layout of OpenSSL's KBKDF and pyca/cryptography's
// KBKDFCMAC, which generated our vectors. The keyset and generation are bound twice (K_col's info
// and the AAD, which covers every header byte including the term), and the column id once (K_col)
// plus again in the AAD: a value moved to another column, keyset or generation fails the tag.
//
// # Decisions
//
//   - Suite 2 (issue 13): ChaCha20-Poly1305 under the same per-record key, AAD, salt and nonce
//     as suite 1, so every offset, MinSize and the envelope CHECK stay as they are, and a value
//     relabelled to the other suite fails the tag (the suite byte is in the AAD). ChaCha20 has no
//     key schedule: re-keying per record costs nothing, where AES-256-GCM pays aes.NewCipher +
//     GCM setup and 1280 B of garbage per value. The AEAD is RFC 8439 §2.8: below chachaAsmMin
//     (64 B) composed from x/crypto's chacha20 and poly1305 (as x/crypto's own generic code
//     does) rather than chacha20poly1305.New, which puts each record key into a fresh heap object
//     (32 B per value, never cleared) and cannot be re-keyed; the composition keeps the cipher
//     state and one-time Poly1305 key on the stack, clears them and allocates nothing. From
//     64 B on, chacha20poly1305 itself: its AVX2 assembly is much faster on longer values and one
//     32-byte allocation is small next to that work. Measured (BenchmarkChaChaAEAD, one core,
//     90 B AAD): 32 B ≈ 0.30 µs both ways; 128 B 0.43 (composed) vs 0.32 µs; 1 KB 2.1 vs
//     0.68 µs. Both paths are checked against Wycheproof, against each other at every length
//     around the block boundaries and the threshold, and by the pyca envelope vectors.
//     Per value, 32 B, one core (go1.26.8, shared VM, best of 5): suite 2 Seal ≈ 0.50 µs, Open
//     ≈ 0.45 µs, 0 allocs; suite 1 Seal ≈ 0.66 µs, Open ≈ 0.58 µs, 1280 B in 2 allocs. The record
//     KDF (≈ 0.11 µs) and the AEAD (≈ 0.30 µs) leave suite 2 above the 0.35 µs aim of issue 13.
//   - Suite 2 nonce: 96-bit random, read with the salt. With a single-use record key the nonce
//     could be constant; a random one keeps the layout identical to suite 1 and stays defence in
//     depth (a (key, nonce) repeat needs a 128-bit salt and a 96-bit nonce collision).
//     XChaCha20-Poly1305 was considered: its 192-bit nonce only matters for many messages under
//     one key, which never happens here, and it would add 12 bytes and an HChaCha20 per value.
//     AES-GCM-SIV is not in the standard library or x/crypto.
//   - Suite choice: ColumnKey.Seal writes the suite given to NewColumnKey; Open dispatches on
//     the header's suite byte, so every suite stays readable. Under the FIPS 140-3 mode
//     (crypto/fips140.Enabled) NewColumnKey refuses to seal suite 2 and DefaultSuite is suite 1;
//     suite 2 values still open under GODEBUG=fips140=on (so they can be re-encrypted to
//     suite 1) but not under fips140=only, which forbids non-approved algorithms (ErrDecrypt).
//   - Record KDF: the brief allows HKDF or an equally standard KDF. HKDF-Expand per record with a
//     pooled pre-keyed HMAC measured ≈ 205 ns on the team machine; KBKDF-CMAC with the AES key
//     schedule, CMAC subkeys and the salt-independent first CBC-MAC block precomputed per column
//     costs four AES block encryptions, ≈ 115 ns, and allocates nothing. Every record still gets
//     its own key, derived fresh and never cached.
//   - Per-value cost floor of suite 1: the standard library offers no way to re-key AES or GCM
//     in place, so each suite-1 Seal/Open pays aes.NewCipher + GCM setup (1280 B in 2
//     allocations, plus the GC work they cause) — most of the budget; suite 2 exists for this.
//     Nothing else in the path allocates (scratch is pooled, dst is reused). Measured with -benchmem, 32 B values, go1.26.8, shared 2-vCPU VM under
//     other engineers' load, best of 5: with -cpu 1 (one core) Seal ≈ 700 ns, Open ≈ 600 ns,
//     Term ≈ 200 ns (0 allocs); with GOMAXPROCS=2 on the busy machine Seal/Open ≈ 0.9–1.3 µs
//     (GC and scheduler contention). So the 1 µs target holds on one core; rerun on target
//     hardware with -count 10 and benchstat before quoting numbers.
//   - Nonce and FIPS: Seal reads salt and nonce with one crypto/rand read (or from an injected
//     reader in tests, which is how the known-answer vectors are frozen) and uses cipher.NewGCM
//     with that explicit nonce. Under GODEBUG=fips140=on/only that constructor is refused
//     ("arbitrary IVs"), so when crypto/fips140.Enabled() reports FIPS mode, Seal switches to
//     cipher.NewGCMWithRandomNonce, which draws the nonce inside the module and writes the very
//     same layout (nonce || ciphertext || tag). Open always uses the random-nonce construction,
//     which is allowed in both modes. Both paths are tested to interoperate.
//   - Nonce size: with single-use record keys the nonce is defence in depth; a catastrophic
//     (key, nonce) reuse needs a 128-bit salt collision and a 96-bit nonce collision together.
//   - Errors: ErrMalformed (layout), ErrWrongKey (keyset or generation of the header differs from
//     the key's; checked before any crypto so foreign rows are refused without decrypting), and
//     ErrDecrypt for every authentication failure, with no detail. Flipping the FlagTerm bit
//     re-frames the value; it is still rejected, by ErrMalformed (too short) or the tag.
//   - Wrap: AES-256-GCM under the KEK with a random nonce drawn by the FIPS module, blob =
//     0x01 || nonce || ciphertext || tag, AAD = "pgseal/v1/wrap" || 0x00 || 0x01 || aad. A KEK must
//     not wrap more than 2^32 blobs (SP 800-38D).
//   - MAC = HMAC-SHA256(key, label || 0x00 || data); DeriveKey = HKDF-Expand(key, label || 0x00 ||
//     context, 32). Labels are program constants without NUL bytes. Keys for these must be at
//     least 14 bytes (FIPS-only mode panics on shorter HMAC keys); KeySize is expected.
//
// # Invariants
//
//   - ParseHeader checks the minimum length before reading any field; no input panics (fuzzed).
//   - Secret never prints its bytes (fmt verbs, JSON, text, slog); errors never carry key, salt or
//     value bytes. Key scratch buffers are cleared after use (best-effort: Go's GC may copy).
//   - ColumnKey and TermKey are immutable after construction and safe for concurrent use; HMAC
//     states are pooled per key (hmac objects are not goroutine-safe), AES blocks are shared.
//   - Record keys and AEAD objects are single-use and never cached. Suite 2 Seal and Open
//     allocate nothing (TestSealOpenAllocateNothing).
package crypto
