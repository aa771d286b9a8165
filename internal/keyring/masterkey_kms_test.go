package keyring

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/kms/kmstest"
)

// kmsEnv is a file keyring whose master key is wrapped by a local AWS KMS under key.
func kmsEnv(t *testing.T, srv *kmstest.Server, key string) testEnv {
	dir := t.TempDir()
	return testEnv{cfg: config.Keyring{Store: "file", Path: filepath.Join(dir, "keyring.json"),
		StatePath: filepath.Join(dir, "keyring.json.state"), MasterKey: "aws-kms://" + key,
		MasterKeyWrappedFile: filepath.Join(dir, "keyring.master.json"), KMSEndpoint: srv.Endpoint}}
}

func TestMasterKeyInKMS(t *testing.T) {
	srv := kmstest.Start(t)
	keyA, keyB := srv.CreateKey(t), srv.CreateKey(t)
	e := kmsEnv(t, srv, keyA)
	ctx := ctxT(t)
	created, err := CreateKMSMasterKey(ctx, e.cfg)
	if err != nil || !created {
		t.Fatalf("CreateKMSMasterKey() = %v, %v; want a new wrapped key", created, err)
	}
	initKeyring(t, e)
	master, err := LoadMasterKey(e.cfg, nil)
	if err != nil {
		t.Fatalf("LoadMasterKey() = %v", err)
	}
	t.Run("the wrapped key file holds no key bytes and names its KMS key", func(t *testing.T) {
		b, err := os.ReadFile(e.cfg.MasterKeyWrappedFile)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, master.Bytes()) || !strings.Contains(string(b), keyA) {
			t.Fatalf("wrapped key file = %s", b)
		}
		if fi, _ := os.Stat(e.cfg.MasterKeyWrappedFile); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
		}
		if again, err := CreateKMSMasterKey(ctx, e.cfg); err != nil || again {
			t.Fatalf("a second CreateKMSMasterKey() = %v, %v; want the file kept", again, err)
		}
	})
	t.Run("the keyring opens through KMS", func(t *testing.T) {
		k := openKeyring(t, e)
		if _, ok := k.Snapshot().Keyset("default"); !ok {
			t.Fatal("no default keyset")
		}
	})
	t.Run("a wrapped key file naming another KMS key is refused", func(t *testing.T) {
		wrong := kmsEnv(t, srv, keyB)
		raw, _ := os.ReadFile(e.cfg.MasterKeyWrappedFile)
		forged := strings.ReplaceAll(string(raw), keyA, keyB)
		if err := os.WriteFile(wrong.cfg.MasterKeyWrappedFile, []byte(forged), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadMasterKey(wrong.cfg, nil); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("LoadMasterKey() = %v, want KMS's refusal", err)
		}
	})
	t.Run("rewrap moves the master key to another KMS key; the keyring still opens", func(t *testing.T) {
		from, err := RewrapKMSMasterKey(ctx, e.cfg, "aws-kms://"+keyB)
		if err != nil || from != "aws-kms://"+keyA {
			t.Fatalf("RewrapKMSMasterKey() = %q, %v", from, err)
		}
		srv.DisableKey(t, keyA)
		after, err := LoadMasterKey(e.cfg, nil)
		if err != nil || !after.Equal(master) {
			t.Fatalf("LoadMasterKey() after rewrap = %v; same key %v", err, after.Equal(master))
		}
		openKeyring(t, e)
	})
	t.Run("a disabled KMS key is refused", func(t *testing.T) {
		srv.DisableKey(t, keyB)
		if _, err := LoadMasterKey(e.cfg, nil); err == nil || !strings.Contains(err.Error(), "Disabled") {
			t.Fatalf("LoadMasterKey() = %v, want KMS's DisabledException", err)
		}
	})
	t.Run("KMS unreachable is refused", func(t *testing.T) {
		srv.Stop()
		if _, err := LoadMasterKey(e.cfg, nil); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("LoadMasterKey() = %v, want KMS unreachable", err)
		}
		if _, err := OpenManager(ctxT(t), e.cfg, nil); err == nil {
			t.Fatal("OpenManager() with KMS down succeeded")
		}
	})
	t.Run("no wrapped key yet says to run keyring init", func(t *testing.T) {
		fresh := kmsEnv(t, srv, keyA)
		if _, err := LoadMasterKey(fresh.cfg, nil); err == nil || !strings.Contains(err.Error(), "keyring init") {
			t.Fatalf("LoadMasterKey() = %v", err)
		}
	})
}
