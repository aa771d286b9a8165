package keyring

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestFileStoreRefusesBadKeyrings(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, e testEnv, saved []byte) testEnv
		want    error
	}{
		{"a flipped byte inside the document is refused as tampered", func(t *testing.T, e testEnv, saved []byte) testEnv {
			b := bytes.Replace(saved, []byte(`"name":"acme"`), []byte(`"name":"acmf"`), 1)
			if bytes.Equal(b, saved) {
				t.Fatal("test setup: name not found")
			}
			writeFile(t, e.cfg.Path, b)
			return e
		}, ErrTampered},
		{"a forged MAC is refused as tampered", func(t *testing.T, e testEnv, saved []byte) testEnv {
			i := bytes.Index(saved, []byte(`"mac":"`)) + len(`"mac":"`)
			b := bytes.Clone(saved)
			b[i] ^= 1
			writeFile(t, e.cfg.Path, b)
			return e
		}, ErrTampered},
		{"a truncated file is refused as tampered", func(t *testing.T, e testEnv, saved []byte) testEnv {
			writeFile(t, e.cfg.Path, saved[:len(saved)/2])
			return e
		}, ErrTampered},
		{"another master key is refused as the wrong master key", func(t *testing.T, e testEnv, _ []byte) testEnv {
			e.env = map[string]string{"K": newKey()}
			return e
		}, ErrWrongMasterKey},
		{"a missing file is reported as not initialized", func(t *testing.T, e testEnv, _ []byte) testEnv {
			if err := os.Remove(e.cfg.Path); err != nil {
				t.Fatal(err)
			}
			return e
		}, ErrNotInitialized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fileEnv(t)
			m := initKeyring(t, e)
			if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
				t.Fatal(err)
			}
			saved := readFile(t, e.cfg.Path)
			e = tt.corrupt(t, e, saved)
			_, err := Open(ctxT(t), e.cfg, e.getenv, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFileStoreRefusesAnOlderEpoch(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	old := readFile(t, e.cfg.Path)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	k := openKeyring(t, e)
	writeFile(t, e.cfg.Path, old) // a validly sealed but older keyring
	if _, err := k.store.Load(ctxT(t)); !errors.Is(err, ErrRollback) {
		t.Fatalf("Load() after rollback = %v, want ErrRollback", err)
	}
	if _, err := m.CreateKeyset(ctxT(t), "other", ""); !errors.Is(err, ErrRollback) {
		t.Fatalf("CreateKeyset() after rollback = %v, want ErrRollback", err)
	}
	k.reload(ctxT(t))
	if _, ok := k.Snapshot().Keyset("acme"); !ok {
		t.Fatal("Snapshot() lost keyset acme after a refused rollback, want the newer snapshot kept")
	}
}

func TestFileStoreRefusesADifferentKeyringAtTheSameEpoch(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	if _, err := m.Load(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	other := e
	other.cfg.Path = filepath.Join(t.TempDir(), "other.json")
	initKeyring(t, other)
	writeFile(t, e.cfg.Path, readFile(t, other.cfg.Path)) // same master key, same epoch 1
	if _, err := m.Load(ctxT(t)); !errors.Is(err, ErrRollback) {
		t.Fatalf("Load() of a forked keyring = %v, want ErrRollback", err)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	for _, e := range []testEnv{fileEnv(t), pgEnv(t)} {
		t.Run(e.cfg.Store+" store", func(t *testing.T) {
			m := initKeyring(t, e)
			if _, err := m.Init(ctxT(t)); !errors.Is(err, ErrExists) {
				t.Fatalf("second Init() = %v, want ErrExists", err)
			}
		})
	}
}

func TestFileStoreWritesAtomically(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	reader := openManager(t, e) // its own store: reads race the writer's renames
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := reader.Load(ctx); err != nil {
				readErr = err
				return
			}
		}
	}()
	for i := 0; i < 30; i++ {
		if _, err := m.CreateKeyset(ctx, "ks-"+string(rune('a'+i%26))+string(rune('a'+i/26)), ""); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if readErr != nil {
		t.Fatalf("Load() during writes = %v, want every read to see a whole keyring", readErr)
	}
	fi, err := os.Stat(e.cfg.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(e.cfg.Path))
	for _, de := range entries {
		if de.Name() != "keyring.json" && de.Name() != "keyring.json.lock" {
			t.Fatalf("directory holds %s after writes, want no temporary files left", de.Name())
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
