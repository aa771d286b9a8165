// Package column is the one home of an encrypted column: built once from an [[encrypt]] entry
// (FromConfig) or from the catalog (internal/seal), it seals a plaintext (Seal), computes its
// equality term (Term) and opens an envelope with the keyset check included (Open), and holds the
// one bytea codec for envelopes (DecodeByteaText, AppendByteaHex). The proxy (internal/seal) and
// the offline migration (internal/migrate) both write and read values through it, so they always
// agree on the envelope (docs/crypto.md). It does no I/O.
package column
