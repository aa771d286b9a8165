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
//	2        1   flags                   bit0 FlagTerm, bit1 FlagOrd, bit2 FlagMatch; others zero
//	3       16   keyset id (UUID)        SQL: substring(col from 4 for 16)
//	19       4   data generation         SQL: substring(col from 20 for 4)
//	23      16   equality term           only if FlagTerm; SQL: substring(col from 24 for 16)
//	B        4   directory               only with FlagOrd or FlagMatch (B = 23, or 39 with a
//	                                     term): u16 order-term length, u16 match-tokens length,
//	                                     each non-zero exactly when its flag is set
//	B+4     Lo   order term              then Lm bytes of match tokens (docs/search.md §1)
//	h       16   salt                    h = 23, or 39 with a term, or B+4+Lo+Lm with the directory
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
//	K_ord || K_ord' = HKDF-Expand(indexRoot[h], "pgseal/v1/ord" || 0x00 || ks || u32(h) || domain, 64)
//	K_match = HKDF-Expand(indexRoot[h], "pgseal/v1/match" || 0x00 || ks || u32(h) || domain, 32)
//	(order terms and match tokens: searchkey.go, docs/search.md §2 and §3)
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
//     GCM setup and 1280 B of garbage per value. The AEAD is RFC 8439 §2.8, computed by
//     x/crypto's chacha20poly1305 (AVX2 assembly on amd64) at every size, with one AEAD object
//     per pooled scratch whose key array is overwritten for each record and cleared after it
//     (chacha.go): chacha20poly1305.New would put each record key into a fresh heap object (32 B
//     per value, never cleared) and offers no re-keying. Reaching the unexported key array is
//     guarded: the exact type (package path, name, a single [32]byte field "key", size 32) is
//     checked with reflect, and a start-up known-answer self-test must show that a re-keyed
//     object seals and opens exactly like a fresh New for two keys and four lengths; otherwise
//     (a future x/crypto changed its struct) chachaRekeyOK is false and suite 2 uses the previous
//     code: a composition of x/crypto's chacha20 and poly1305 below chachaAsmMin (64 B, no
//     allocation) and a New per record above. Both paths are checked against each other
//     (identical envelopes), against Wycheproof and against the pyca envelope vectors, and
//     golang.org/x/crypto is pinned in go.mod (v0.59.0, the newest the module proxy serves; it
//     offers no re-keyable or allocation-free constructor). Measured (BenchmarkChaChaAEAD, one
//     core, 90 B AAD): 32 B ≈ 0.25–0.27 µs re-keyed vs ≈ 0.28–0.30 µs composed; 1 KB ≈ 0.7 vs
//     2.1–2.4 µs. Per value, 32 B, one core: see §9 of docs/crypto.md; Seal and Open now
//     allocate nothing at any size, and ≈ 80% of an Open is the AEAD itself (x/crypto's
//     assembly with this format's 72–90 B AAD), so suite 2 stays ≈ 0.37–0.40 µs, above the
//     0.35 µs aim of issue 13, on this machine.
//   - Salts and nonces: drawn together, 28 bytes per value, from a per-scratch ChaCha8
//     generator (math/rand/v2, C2SP chacha8rand: the Go runtime's cryptographically strong
//     generator) reseeded with 32 bytes of crypto/rand output every 32 values. Both are public
//     and need only be unique; the kernel's getrandom cost ≈ 2.7 ns per byte on the team machine
//     (≈ 80 ns per value, ≈ 20% of a seal), and the previous design already buffered 32 values
//     from one getrandom call, so a cloned process or VM image repeats no more values than
//     before. Under the FIPS 140-3 mode crypto/rand (the module's DRBG) is read directly.
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
//     schedule, CMAC subkeys, the salt-independent first CBC-MAC block and the fixed bytes of the
//     two later blocks precomputed per column costs four AES block encryptions (the two counters
//     interleaved so that their AES rounds overlap), ≈ 55–60 ns (≈ 70–80 ns with the salt's
//     bytes XORed in one by one, ≈ 115–130 ns before the interleaving), and allocates nothing.
//     Only the salt varies, so only its words are XORed in. Every record still gets its own
//     key, derived fresh and never cached.
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
//   - ParseHeader and checkHeader (its validation, which Open uses alone) check the minimum
//     length before reading any field; no input panics (fuzzed, and both agree on every input).
//   - Secret never prints its bytes (fmt verbs, JSON, text, slog); errors never carry key, salt or
//     value bytes. Key scratch buffers are cleared after use (best-effort: Go's GC may copy).
//   - ColumnKey and TermKey are immutable after construction and safe for concurrent use; HMAC
//     states are pooled per key (hmac objects are not goroutine-safe), AES blocks are shared.
//   - Record keys are single-use and never cached. Suite 1 builds its AEAD per value; suite 2's
//     AEAD object belongs to one pooled scratch and holds a record key (derived straight into
//     it) only during one Seal or Open, which clear it (TestChaChaRekeyClearsKey). Suite 2 Seal
//     and Open allocate nothing at any size (TestSealOpenAllocateNothing).
package crypto
