// Package sqlstate holds the SQLSTATE codes pgseal uses and the one error type that carries them.
//
// The analyser (internal/rewrite), the value codec (internal/value), the encryption interceptor
// (internal/seal) and the relay (internal/wire, whose ProxyError is this Error) all fail with
// *Error, so a refusal keeps its code from where it is decided to the ErrorResponse the client reads; keyring and migrate match server
// errors against the constants here. Messages never contain a value of an encrypted column, SQL
// text or key material (docs/design.md §5).
package sqlstate
