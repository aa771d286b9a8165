package crypto

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every printing path of a Secret shows instead of the bytes.
const redacted = "[REDACTED]"

// Secret holds key bytes. It prints as [REDACTED] through fmt (every verb), encoding/json, slog and
// zap's reflection encoder, so a Secret inside a logged struct cannot leak.
//
// A Secret is a small value; copies share the underlying bytes. Go cannot guarantee erasure (the
// GC may have copied memory), so Wipe is best-effort.
type Secret struct {
	b []byte
}

// NewSecret returns a Secret holding a copy of b.
func NewSecret(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	return Secret{b: append([]byte(nil), b...)}
}

// RandomSecret returns KeySize bytes from crypto/rand (which never fails; the runtime aborts if
// the OS cannot supply randomness).
func RandomSecret() Secret {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b)
	return Secret{b: b}
}

// Bytes returns the raw key bytes, not a copy: callers must not retain or modify them.
func (s Secret) Bytes() []byte { return s.b }

// Len returns the number of key bytes.
func (s Secret) Len() int { return len(s.b) }

// Equal reports whether s and o hold the same bytes, in constant time for equal lengths.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.b, o.b) == 1 }

// IsZero reports whether s holds no bytes (the zero Secret).
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// Wipe overwrites the bytes with zeros (best-effort; shared by every copy of s).
func (s Secret) Wipe() { clear(s.b) }

// String implements fmt.Stringer without revealing the bytes.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v) without revealing the bytes.
func (s Secret) GoString() string { return "crypto.Secret(" + redacted + ")" }

// Format implements fmt.Formatter so that every verb (%x, %v, %s, %d, ...) prints the redaction.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, redacted)
}

// MarshalJSON implements json.Marshaler with the redaction, never the bytes.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler with the redaction (TOML, YAML, map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer with the redaction.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
