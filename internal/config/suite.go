package config

import (
	"crypto/fips140"
	"fmt"
)

// Envelope suite names as [crypto] suite spells them. internal/crypto's SuiteName* constants and
// SuiteByName are the rule; config keeps this copy so that it imports no pgseal package (the relay,
// internal/wire, links config but no cryptography), and crypto's TestConfigSuiteNamesAgree checks
// that both give the same answers.
const (
	suiteAESGCM   = "aes-256-gcm"
	suiteChaCha20 = "chacha20-poly1305"
)

// CheckSuite reports whether name is a suite this version can write ("" is the default), with
// crypto.SuiteByName's errors: chacha20-poly1305 is refused while the FIPS 140-3 mode is on.
func CheckSuite(name string) error {
	switch name {
	case "", suiteAESGCM:
		return nil
	case suiteChaCha20:
		if fips140.Enabled() {
			return fmt.Errorf("suite %q is not allowed in FIPS 140-3 mode (GODEBUG=fips140): use %q", name, suiteAESGCM)
		}
		return nil
	}
	return fmt.Errorf("unknown suite %q: want %q or %q", name, suiteAESGCM, suiteChaCha20)
}
