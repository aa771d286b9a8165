package keyring

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/crypto"
)

// TestConfiguredSuiteSealsNewValuesAndEverySuiteOpens: the configured suite is what column keys
// write; a keyring configured for the other suite still opens them.
func TestConfiguredSuiteSealsNewValuesAndEverySuiteOpens(t *testing.T) {
	e := fileEnv(t)
	initKeyring(t, e)
	open := func(name string) *Keyset {
		t.Helper()
		k, err := Open(ctxT(t), e.cfg, e.getenv, nil, WithSuiteName(name))
		if err != nil {
			t.Fatalf("Open(suite %q) = %v, want nil", name, err)
		}
		t.Cleanup(func() { k.Close() })
		return k.Snapshot().Default()
	}
	byName := map[string]*Keyset{}
	for _, name := range []string{crypto.SuiteNameAESGCM, crypto.SuiteNameChaCha20, ""} {
		byName[name] = open(name)
	}
	if got := byName[""].Suite(); got != crypto.DefaultSuite() {
		t.Errorf("Suite() without a configured name = %d, want DefaultSuite %d", got, crypto.DefaultSuite())
	}
	for _, name := range []string{crypto.SuiteNameAESGCM, crypto.SuiteNameChaCha20} {
		ck, err := byName[name].PrimaryColumnKey("public.t.c")
		if err != nil {
			t.Fatal(err)
		}
		env, err := ck.Seal(nil, []byte("v"), nil)
		if err != nil || crypto.SuiteName(env[crypto.SuiteOffset]) != name {
			t.Fatalf("Seal() under %q = suite %d, %v, want %s", name, env[crypto.SuiteOffset], err, name)
		}
		for other, ks := range byName {
			k, err := ks.ColumnKey(ks.PrimaryGeneration(), "public.t.c")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.Open(nil, env); err != nil || !bytes.Equal(got, []byte("v")) {
				t.Errorf("Open() of a %s value by a keyring configured %q = %q, %v, want v", name, other, got, err)
			}
		}
	}
}

func TestUnknownSuiteNameFailsOpen(t *testing.T) {
	e := fileEnv(t)
	initKeyring(t, e)
	_, err := Open(ctxT(t), e.cfg, e.getenv, nil, WithSuiteName("rot13"))
	if err == nil || !strings.Contains(err.Error(), "crypto.suite") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open(suite rot13) = %v, want a one-line crypto.suite error", err)
	}
}
