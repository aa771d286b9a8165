package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/kms/kmstest"
	"github.com/pgseal/pgseal/internal/pgtest"
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

// A running proxy whose KMS key is disabled: the next keyring change (through the control API,
// which works with the key in memory) seals the keyring, /readyz fails on the keyring check and
// pgseal_keyring_sealed is 1; after EnableKey and another change it is ready again.
func TestServeSealsWhenKMSRefuses(t *testing.T) {
	srv := kmstest.Start(t)
	key := srv.CreateKey(t)
	db := pgtest.New(t)
	dir := t.TempDir()
	f := cliFixture{dir: dir, config: filepath.Join(dir, "proxy.toml"), masterKey: "not-used"}
	writeTestFile(t, f.config, fmt.Sprintf("version = 1\n[keyring]\nstore = \"file\"\npath = %q\nmaster_key = %q\nkms_endpoint = %q\n"+
		"[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n[upstream]\naddress = %q\ntls = \"disable\"\n[log]\nformat = \"json\"\n",
		filepath.Join(dir, "keyring.json"), "aws-kms://"+key, srv.Endpoint, db.Server.Addr()))
	if code, _, stderr := f.cli(t, "keyring", "init"); code != 0 {
		t.Fatalf("keyring init = %d: %s", code, stderr)
	}
	code, out, stderr := f.cli(t, "access-key", "create", "--role", "control", "--json")
	if code != 0 {
		t.Fatalf("access-key create = %d: %s", code, stderr)
	}
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	accessKey, _ := created["access_key"].(string)
	if accessKey == "" {
		accessKey, _ = created["accessKey"].(string)
	}
	cfg, err := config.Load(f.config, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	admin := make(chan string, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, func(_, a string) { admin <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	var addr string
	select {
	case addr = <-admin:
	case err := <-done:
		t.Fatalf("serve() = %v before it was ready", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve() not ready after 30s")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, auth := post("/api/authorize", "", fmt.Sprintf(`{"accessKey": %q}`, accessKey))
	token, _ := auth["accessToken"].(string)
	if code != 200 || token == "" {
		t.Fatalf("POST /api/authorize = %d %v", code, auth)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15s", what)
			}
		}
	}
	ready := func() bool {
		code, body := get("/readyz")
		return code == 200 && strings.Contains(body, `"ready":true`)
	}
	metric := func(line string) func() bool {
		return func() bool { _, body := get("/metrics"); return strings.Contains(body, line) }
	}
	if !ready() {
		t.Fatal("not ready with KMS up")
	}

	srv.DisableKey(t, key)
	if code, ks := post("/create-keyset", token, `{"name": "acme"}`); code != 200 {
		t.Fatalf("POST /create-keyset with the KMS key disabled = %d %v; want the change stored", code, ks)
	}
	waitFor("/readyz failing while sealed", func() bool {
		code, body := get("/readyz")
		return code != 200 && strings.Contains(body, "sealed")
	})
	waitFor("pgseal_keyring_sealed 1", metric("pgseal_keyring_sealed 1"))

	srv.EnableKey(t, key)
	if code, ks := post("/create-keyset", token, `{"name": "globex"}`); code != 200 {
		t.Fatalf("POST /create-keyset = %d %v", code, ks)
	}
	waitFor("ready again", ready)
	waitFor("pgseal_keyring_sealed 0", metric("pgseal_keyring_sealed 0"))
}
