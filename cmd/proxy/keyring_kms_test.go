package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/kms/kmstest"
)

// The keyring commands with the master key in a (local) AWS KMS: init creates the wrapped key,
// every command unwraps it through KMS, rewrap moves it to another KMS key, and a KMS that is
// gone stops them with a one-line reason.
func TestKeyringCommandsWithKMS(t *testing.T) {
	srv := kmstest.Start(t)
	keyA, keyB := srv.CreateKey(t), srv.CreateKey(t)
	dir := t.TempDir()
	f := cliFixture{dir: dir, config: filepath.Join(dir, "proxy.toml"), masterKey: "not-used"}
	writeTestFile(t, f.config, fmt.Sprintf("version = 1\n[keyring]\nstore = \"file\"\npath = %q\nmaster_key = %q\nkms_endpoint = %q\n",
		filepath.Join(dir, "keyring.json"), "aws-kms://"+keyA, srv.Endpoint))
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"init makes the wrapped master key and the keyring", []string{"keyring", "init"}, 0, "created master key under aws-kms://" + keyA},
		{"a keyset command unwraps through KMS", []string{"keyset", "create", "acme"}, 0, "acme"},
		{"rewrap moves it to another KMS key", []string{"keyring", "rewrap", "--to", "aws-kms://" + keyB}, 0, "set keyring.master_key"},
		{"the keyring opens under the new KMS key", []string{"keyset", "list"}, 0, "acme"},
		{"a key URI of an unknown service is refused", []string{"keyring", "rewrap", "--to", "vault://x"}, 1, "not a key URI"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := f.cli(t, c.args...)
			if code != c.code || !strings.Contains(stdout+stderr, c.output) {
				t.Fatalf("proxy %v = %d\n%s%s\nwant %d and %q", c.args, code, stdout, stderr, c.code, c.output)
			}
		})
	}
	srv.DisableKey(t, keyA) // the rewrapped key no longer needs it
	if code, _, stderr := f.cli(t, "keyset", "list"); code != 0 {
		t.Fatalf("keyset list with the old KMS key disabled = %d: %s", code, stderr)
	}
	srv.Stop()
	code, _, stderr := f.cli(t, "keyset", "list")
	if code != 1 || !strings.Contains(stderr, "unreachable") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("keyset list with KMS down = %d: %q, want 1 and one line saying KMS is unreachable", code, stderr)
	}
}
