package keyring

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// maxClientName bounds client names: PostgreSQL role names are at most 63 bytes, TLS subjects
// (e.g. "CN=billing,O=Acme") are longer.
const maxClientName = 255

// ValidKeysetName checks a keyset name: 1-63 characters of [a-z0-9_-], and not a UUID (names and
// UUIDs share one lookup, so a name that parses as a UUID would be ambiguous).
func ValidKeysetName(name string) error {
	if len(name) == 0 || len(name) > 63 {
		return fmt.Errorf("keyset name must be 1-63 characters: %w", ErrInvalid)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("keyset name %q: only a-z, 0-9, _ and - are allowed: %w", name, ErrInvalid)
		}
	}
	if _, err := uuid.Parse(name); err == nil {
		return fmt.Errorf("keyset name %q looks like a UUID: %w", name, ErrInvalid)
	}
	return nil
}

// ValidClientName checks a client name. Clients are PostgreSQL role names or TLS client
// certificate subjects, so the keyset rule is too strict: any printable UTF-8 of 1-255 bytes
// without control characters, and not a UUID.
func ValidClientName(name string) error {
	if len(name) == 0 || len(name) > maxClientName {
		return fmt.Errorf("client name must be 1-%d bytes: %w", maxClientName, ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("client name is not valid UTF-8: %w", ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("client name contains a control character: %w", ErrInvalid)
		}
	}
	if _, err := uuid.Parse(name); err == nil {
		return fmt.Errorf("client name %q looks like a UUID: %w", name, ErrInvalid)
	}
	return nil
}

// validDescription bounds descriptions (they are shown in tables and stored in every copy).
func validDescription(d string) error {
	if len(d) > 1024 || !utf8.ValidString(d) {
		return fmt.Errorf("description must be valid UTF-8 of at most 1024 bytes: %w", ErrInvalid)
	}
	for _, r := range d {
		if unicode.IsControl(r) {
			return fmt.Errorf("description contains a control character: %w", ErrInvalid)
		}
	}
	return nil
}
