package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/crypto"
)

// cliFixture is a proxy.toml with a file keyring and a master key file in a temp dir.
type cliFixture struct {
	dir, config, masterKey string
}

func newCLIFixture(t *testing.T) cliFixture {
	t.Helper()
	dir := t.TempDir()
	f := cliFixture{dir: dir, config: filepath.Join(dir, "proxy.toml"),
		masterKey: base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())}
	writeTestFile(t, filepath.Join(dir, "master.key"), f.masterKey+"\n")
	writeTestFile(t, f.config, fmt.Sprintf("version = 1\n[keyring]\nstore = \"file\"\npath = %q\nmaster_key_file = %q\n",
		filepath.Join(dir, "keyring.json"), filepath.Join(dir, "master.key")))
	return f
}

func writeTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// cli runs "proxy args… --config <fixture>" in-process and returns the exit status and output.
func (f cliFixture) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if !slices.Contains(args, "--config") {
		args = append(args, "--config", f.config)
	}
	err := run(context.Background(), args, &stdout, &stderr)
	code := exitCode(err, &stderr)
	if strings.Contains(stdout.String()+stderr.String(), f.masterKey) {
		t.Fatalf("proxy %v printed the master key", args)
	}
	return code, stdout.String(), stderr.String()
}

func TestKeyringCommands(t *testing.T) {
	f := newCLIFixture(t)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     string // substring of stdout (code 0) or stderr
	}{
		{"a command before init says the keyring is missing", []string{"keyset", "list"}, 1, "not initialized"},
		{"init creates the keyring with the default keyset", []string{"keyring", "init"}, 0, `keyset "default"`},
		{"a second init refuses to overwrite", []string{"keyring", "init"}, 1, "already exists"},
		{"init takes no arguments", []string{"keyring", "init", "extra"}, 2, "no arguments"},
		{"keyring without a subcommand is a usage error", []string{"keyring"}, 2, "want a subcommand"},
		{"create accepts a flag after the name", []string{"keyset", "create", "acme", "--description", "Acme Corp"}, 0, "Acme Corp"},
		{"create refuses a duplicate", []string{"keyset", "create", "acme"}, 1, "already exists"},
		{"create refuses a bad name", []string{"keyset", "create", "Not OK"}, 1, "only a-z"},
		{"create needs a name", []string{"keyset", "create"}, 2, "want NAME"},
		{"an unknown subcommand is a usage error", []string{"keyset", "frobnicate"}, 2, "unknown subcommand"},
		{"an unknown flag is a usage error", []string{"keyset", "list", "--colour"}, 2, "flag provided but not defined"},
		{"client create without the default grant", []string{"client", "create", "app", "--no-default-grant"}, 0, "app"},
		{"client create refuses a duplicate", []string{"client", "create", "app"}, 1, "already exists"},
		{"grant by names", []string{"keyset", "grant", "acme", "app"}, 0, "granted"},
		{"grant of an unknown keyset fails", []string{"keyset", "grant", "nope", "app"}, 1, "not found"},
		{"grant to an unknown client fails", []string{"keyset", "grant", "acme", "nobody"}, 1, "not found"},
		{"grant needs two arguments", []string{"keyset", "grant", "acme"}, 2, "want KEYSET CLIENT"},
		{"client list shows the grant", []string{"client", "list"}, 0, "acme"},
		{"revoke", []string{"keyset", "revoke", "acme", "app"}, 0, "revoked"},
		{"rotate makes generation 2 primary", []string{"keyset", "rotate", "acme"}, 0, "1:decrypt-only,2:primary"},
		{"retiring the primary generation fails", []string{"keyset", "retire-generation", "acme", "2"}, 1, "primary"},
		{"retire-generation retires", []string{"keyset", "retire-generation", "acme", "1"}, 0, "1:retired"},
		{"retire-generation needs a number", []string{"keyset", "retire-generation", "acme", "one"}, 2, "positive number"},
		{"disable", []string{"keyset", "disable", "acme"}, 0, "disabled"},
		{"rotate refuses a disabled keyset", []string{"keyset", "rotate", "acme"}, 1, "disabled"},
		{"enable", []string{"keyset", "enable", "acme"}, 0, "active"},
		{"rotate-index gives generation 3 new index keys", []string{"keyset", "rotate-index", "acme"}, 0, "2:decrypt-only,3:primary(index 2)"},
		{"disable of an unknown keyset fails", []string{"keyset", "disable", "nope"}, 1, "not found"},
		{"list shows both keysets", []string{"keyset", "list"}, 0, "default (default)"},
		{"access-key create needs --role", []string{"access-key", "create"}, 2, "--role is required"},
		{"access-key create refuses an unknown role", []string{"access-key", "create", "--role", "admin"}, 1, "want \"control\""},
		{"access-key create prints the key once", []string{"access-key", "create", "--role", "control"}, 0, "pgsk_"},
		{"a missing config file fails", []string{"keyset", "list", "--config", filepath.Join(f.dir, "nope.toml")}, 1, "nope.toml"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errOut := f.cli(t, s.args...)
			got := out
			if s.wantCode != 0 {
				got = errOut
			}
			if code != s.wantCode || !strings.Contains(got, s.want) {
				t.Fatalf("proxy %v = %d, stdout %q, stderr %q; want %d with %q", s.args, code, out, errOut, s.wantCode, s.want)
			}
			if s.wantCode != 0 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 && !strings.Contains(errOut, "usage:") {
				t.Fatalf("proxy %v stderr %q, want one line", s.args, errOut)
			}
		})
	}
}

func TestKeyringCommandsPrintJSON(t *testing.T) {
	f := newCLIFixture(t)
	f.cli(t, "keyring", "init")
	f.cli(t, "keyset", "create", "acme")
	f.cli(t, "client", "create", "app")
	_, out, _ := f.cli(t, "keyset", "list", "--json")
	var keysets []struct {
		ID, Name string
		Default  bool
	}
	if err := json.Unmarshal([]byte(out), &keysets); err != nil || len(keysets) != 2 || keysets[0].Name != "acme" || !keysets[1].Default {
		t.Fatalf("keyset list --json = %s (%v), want acme and the default keyset", out, err)
	}
	_, out, _ = f.cli(t, "client", "list", "--json")
	var clients []struct{ Grants []string }
	if err := json.Unmarshal([]byte(out), &clients); err != nil || len(clients) != 1 || len(clients[0].Grants) != 1 || clients[0].Grants[0] != "default" {
		t.Fatalf("client list --json = %s (%v), want app granted the default keyset", out, err)
	}
	_, out, _ = f.cli(t, "access-key", "create", "--role", "control", "--json")
	var key struct {
		AccessKey string `json:"access_key"`
	}
	if err := json.Unmarshal([]byte(out), &key); err != nil || !strings.HasPrefix(key.AccessKey, "pgsk_") {
		t.Fatalf("access-key create --json = %s (%v), want access_key", out, err)
	}
	_, out, _ = f.cli(t, "client", "list")
	if strings.Contains(out, key.AccessKey) {
		t.Fatal("client list printed an access key secret")
	}
}

func TestWrongMasterKeyIsRefusedWithoutPrintingIt(t *testing.T) {
	f := newCLIFixture(t)
	f.cli(t, "keyring", "init")
	other := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	writeTestFile(t, filepath.Join(f.dir, "master.key"), other)
	code, _, errOut := f.cli(t, "keyset", "list")
	if code != 1 || !strings.Contains(errOut, "different master key") || strings.Contains(errOut, other) {
		t.Fatalf("keyset list with another master key = %d %q, want 1 and a clear message without the key", code, errOut)
	}
	writeTestFile(t, filepath.Join(f.dir, "master.key"), "c2hvcnQ=")
	if code, _, errOut = f.cli(t, "keyset", "list"); code != 1 || !strings.Contains(errOut, "want exactly 32") {
		t.Fatalf("keyset list with a short master key = %d %q, want 1", code, errOut)
	}
}

// TestKeyringRollbackAcrossRestarts: an older keyring file put back after the CLI has seen a
// newer one is refused by the next command and by serve, in one line; so is a forged state file.
func TestKeyringRollbackAcrossRestarts(t *testing.T) {
	f := newCLIFixture(t)
	keyringPath := filepath.Join(f.dir, "keyring.json")
	if code, _, stderr := f.cli(t, "keyring", "init"); code != 0 {
		t.Fatalf("keyring init = %d: %s", code, stderr)
	}
	old, err := os.ReadFile(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := f.cli(t, "keyset", "create", "acme"); code != 0 {
		t.Fatalf("keyset create = %d: %s", code, stderr)
	}
	writeTestFile(t, keyringPath, string(old))
	for _, args := range [][]string{{"keyset", "list"}, {"keyset", "create", "globex"}, {"serve"}} {
		code, _, stderr := f.cli(t, args...)
		if code != 1 || !strings.Contains(stderr, "rollback refused") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("proxy %v on an older keyring = %d, %q, want 1 and one line about the rollback", args, code, stderr)
		}
	}
	writeTestFile(t, keyringPath+".state", `{"format":1,"state":{"epoch":0},"mac":"AAAA"}`)
	code, _, stderr := f.cli(t, "keyset", "list")
	if code != 1 || !strings.Contains(stderr, "state file") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("proxy keyset list with a forged state file = %d, %q, want 1 and one line about the state file", code, stderr)
	}
}
