package crypto

import (
	"bytes"
	"crypto/fips140"
	"os"
	"os/exec"
	"testing"
)

// TestFIPSModeUsesSuite1 re-runs itself with GODEBUG=fips140=on (the mode is fixed at process
// start): there the default suite is AES-256-GCM, chacha20-poly1305 is refused for new values,
// and a suite 2 value written before still opens (so it can be re-encrypted to suite 1).
func TestFIPSModeUsesSuite1(t *testing.T) {
	if os.Getenv("PGSEAL_TEST_FIPS_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSModeUsesSuite1$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PGSEAL_TEST_FIPS_CHILD=1", "GODEBUG=fips140=on")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the test under GODEBUG=fips140=on failed: %v\n%s", err, out)
		}
		return
	}
	if !fips140.Enabled() {
		t.Skip("this Go toolchain cannot run the FIPS 140-3 module (fips140=on had no effect)")
	}
	if got := DefaultSuite(); got != Suite1 {
		t.Errorf("DefaultSuite() = %d in FIPS mode, want Suite1", got)
	}
	if _, err := SuiteByName(SuiteNameChaCha20); err == nil {
		t.Errorf("SuiteByName(%q) = nil error in FIPS mode, want a refusal", SuiteNameChaCha20)
	}
	if _, err := NewColumnKey(testRoot, testKeyset, 1, testColumn, Suite2); err == nil {
		t.Errorf("NewColumnKey(Suite2) = nil error in FIPS mode, want a refusal")
	}
	v := loadKnownAnswers(t, vectorFiles[1]).Envelopes[0]
	k, err := NewColumnKey(NewSecret(unhex(t, v.Root)), keysetOf(t, v.Keyset), v.Generation, v.Column, Suite1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(nil, unhex(t, v.Envelope)); err != nil || !bytes.Equal(got, unhex(t, v.Plaintext)) {
		t.Errorf("Open(suite 2 value) in FIPS mode = %x, %v, want the plaintext", got, err)
	}
	env, err := k.Seal(nil, []byte("v"), nil)
	if err != nil || env[SuiteOffset] != Suite1 {
		t.Fatalf("Seal() in FIPS mode = %x, %v, want a suite 1 value", env, err)
	}
}
