package keyring

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testEnv is a keyring config with a random master key in a fake environment.
type testEnv struct {
	cfg    config.Keyring
	env    map[string]string
	master crypto.Secret
}

func (e testEnv) getenv(k string) string { return e.env[k] }

func newKey() string {
	return base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
}

func fileEnv(t *testing.T) testEnv {
	t.Helper()
	key := newKey()
	m, err := decodeMasterKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return testEnv{
		cfg:    config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"},
		env:    map[string]string{"K": key},
		master: m,
	}
}

func pgEnv(t *testing.T) testEnv {
	t.Helper()
	e := fileEnv(t)
	e.cfg.Store, e.cfg.Path, e.cfg.DSN = "postgres", "", pgtest.New(t).ConnString()
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// initKeyring creates a keyring and returns a Manager owning its own store.
func initKeyring(t *testing.T, e testEnv) *Manager {
	t.Helper()
	m := openManager(t, e)
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatalf("Init() = %v, want nil", err)
	}
	return m
}

func openManager(t *testing.T, e testEnv) *Manager {
	t.Helper()
	m, err := OpenManager(ctxT(t), e.cfg, e.getenv)
	if err != nil {
		t.Fatalf("OpenManager() = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func openKeyring(t *testing.T, e testEnv) *Keyring {
	t.Helper()
	k, err := Open(ctxT(t), e.cfg, e.getenv, nil)
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// eventually polls cond until it holds or a deadline passes (no sleeps).
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, within)
		}
		<-tick.C
	}
}
