package crypto

import (
	"testing"

	"github.com/pgseal/pgseal/internal/config"
)

// TestConfigSuiteNamesAgree: config validates [crypto] suite with its own copy of the names (it
// imports no pgseal package); it must accept and refuse exactly what SuiteByName does.
func TestConfigSuiteNamesAgree(t *testing.T) {
	for _, name := range []string{"", SuiteNameAESGCM, SuiteNameChaCha20, "aes-128-gcm", "AES-256-GCM", "none"} {
		_, want := SuiteByName(name)
		got := config.CheckSuite(name)
		if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
			t.Errorf("config.CheckSuite(%q) = %v, SuiteByName = %v: want the same", name, got, want)
		}
	}
}
