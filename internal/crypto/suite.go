package crypto

import (
	"crypto/fips140"
	"fmt"
)

// Suite names as proxy.toml spells them ([crypto] suite).
const (
	SuiteNameAESGCM   = "aes-256-gcm"       // Suite1
	SuiteNameChaCha20 = "chacha20-poly1305" // Suite2
)

// knownSuite reports whether b is a suite byte this version can open.
func knownSuite(b byte) bool { return b == Suite1 || b == Suite2 }

// DefaultSuite is the suite new values use when the configuration names none: ChaCha20-Poly1305
// (Suite2, measured faster per value and allocation-free, see doc.go), or AES-256-GCM (Suite1)
// when the FIPS 140-3 mode is on, since ChaCha20-Poly1305 is not an approved algorithm.
func DefaultSuite() byte {
	if fips140.Enabled() {
		return Suite1
	}
	return Suite2
}

// SuiteByName maps a configured suite name to its suite byte; "" is DefaultSuite. Naming
// chacha20-poly1305 while the FIPS 140-3 mode is on is an error (refused, not silently replaced).
func SuiteByName(name string) (byte, error) {
	switch name {
	case "":
		return DefaultSuite(), nil
	case SuiteNameAESGCM:
		return Suite1, nil
	case SuiteNameChaCha20:
		if fips140.Enabled() {
			return 0, fmt.Errorf("suite %q is not allowed in FIPS 140-3 mode (GODEBUG=fips140): use %q", name, SuiteNameAESGCM)
		}
		return Suite2, nil
	}
	return 0, fmt.Errorf("unknown suite %q: want %q or %q", name, SuiteNameAESGCM, SuiteNameChaCha20)
}

// SuiteName returns the configuration name of a suite byte, or "suite N" for an unknown one.
func SuiteName(suite byte) string {
	switch suite {
	case Suite1:
		return SuiteNameAESGCM
	case Suite2:
		return SuiteNameChaCha20
	}
	return fmt.Sprintf("suite %d", suite)
}
