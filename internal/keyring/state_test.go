package keyring

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// stateEnv is fileEnv with the state file at its default place, as config.Load sets it.
func stateEnv(t *testing.T) testEnv {
	t.Helper()
	e := fileEnv(t)
	e.cfg.StatePath = e.cfg.Path + ".state"
	return e
}

// withoutState is e with the state file off: the store as an attacker's tool or an old pgseal
// sees it (it writes validly sealed keyrings but never records them).
func withoutState(e testEnv) testEnv {
	e.cfg.StatePath = ""
	return e
}

func recordedEpoch(t *testing.T, e testEnv) uint64 {
	t.Helper()
	st, err := newStateFile(e.cfg.StatePath, e.master).load()
	if err != nil || st == nil {
		t.Fatalf("state file: %+v, %v, want a record", st, err)
	}
	return st.Epoch
}

// openErr opens the keyring as the proxy does and returns the error (closing a success).
func openErr(t *testing.T, e testEnv) error {
	t.Helper()
	k, err := Open(ctxT(t), e.cfg, e.getenv, nil)
	if err == nil {
		k.Close()
	}
	return err
}

// cliErr runs a one-shot command as the CLI does (OpenManager, then a read).
func cliErr(t *testing.T, e testEnv) error {
	t.Helper()
	m, err := OpenManager(ctxT(t), e.cfg, e.getenv)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.ListKeysets(ctxT(t))
	return err
}

func TestStateFileSurvivesRestarts(t *testing.T) {
	e := stateEnv(t)
	m := initKeyring(t, e)
	if _, err := os.Stat(e.cfg.StatePath); err != nil {
		t.Fatalf("state file after init: %v, want it created", err)
	}
	old := readFile(t, e.cfg.Path) // epoch 1, before the change below (think: a revoked grant)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if got := recordedEpoch(t, e); got != 2 {
		t.Fatalf("recorded epoch = %d, want 2", got)
	}
	newer := readFile(t, e.cfg.Path)
	writeFile(t, e.cfg.Path, old) // a validly sealed but older keyring, after a "restart"
	for name, open := range map[string]func(*testing.T, testEnv) error{"proxy": openErr, "CLI": cliErr} {
		if err := open(t, e); !errors.Is(err, ErrRollback) {
			t.Errorf("%s: open an older keyring after a restart = %v, want ErrRollback", name, err)
		}
	}
	if err := openErr(t, withoutState(e)); err != nil {
		t.Fatalf("without a state file the older keyring opens (the window the file closes): %v", err)
	}
	writeFile(t, e.cfg.Path, newer)
	if err := openErr(t, e); err != nil {
		t.Fatalf("open the newest keyring = %v, want nil", err)
	}
	// A newer keyring written by a tool that does not record it is accepted and recorded.
	other := openManager(t, withoutState(e))
	if _, err := other.CreateKeyset(ctxT(t), "globex", ""); err != nil {
		t.Fatal(err)
	}
	if err := cliErr(t, e); err != nil {
		t.Fatalf("CLI on a newer keyring = %v, want nil", err)
	}
	if got := recordedEpoch(t, e); got != 3 {
		t.Fatalf("recorded epoch after a newer keyring = %d, want 3", got)
	}
}

func TestStateFileRefusesAnotherDocumentAtTheSameEpoch(t *testing.T) {
	e := stateEnv(t)
	initKeyring(t, e).Close()
	base := readFile(t, e.cfg.Path)
	m := openManager(t, e)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil { // epoch 2, recorded
		t.Fatal(err)
	}
	m.Close()
	writeFile(t, e.cfg.Path, base)
	fork := openManager(t, withoutState(e))
	if _, err := fork.CreateKeyset(ctxT(t), "evil", ""); err != nil { // another epoch 2
		t.Fatal(err)
	}
	fork.Close()
	for name, open := range map[string]func(*testing.T, testEnv) error{"proxy": openErr, "CLI": cliErr} {
		if err := open(t, e); !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "different keyring") {
			t.Errorf("%s: open a forked keyring at the recorded epoch = %v, want ErrRollback", name, err)
		}
	}
	m2 := openManager(t, e)
	if _, err := m2.CreateKeyset(ctxT(t), "x", ""); !errors.Is(err, ErrRollback) {
		t.Errorf("update on top of the fork = %v, want ErrRollback (nothing written)", err)
	}
}

func TestStateFileRefusesForgeries(t *testing.T) {
	e := stateEnv(t)
	initKeyring(t, e).Close()
	good := readFile(t, e.cfg.StatePath)
	lowered := bytes.Replace(good, []byte(`"epoch":1`), []byte(`"epoch":0`), 1)
	if bytes.Equal(lowered, good) {
		t.Fatalf("state file %s has no epoch 1 to lower", good)
	}
	otherKey := fileEnv(t)
	foreign, err := newStateFile(e.cfg.StatePath, otherKey.master).seal(&stateBody{Epoch: 0})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"garbage", []byte("not json at all\x00")},
		{"an empty file", nil},
		{"a lowered epoch with the old MAC", lowered},
		{"a state sealed under another master key", foreign},
		{"a truncated file", good[:len(good)/2]},
		{"an unknown field", bytes.Replace(good, []byte(`{"format"`), []byte(`{"x":1,"format"`), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			writeFile(t, e.cfg.StatePath, tt.data)
			for name, open := range map[string]func(*testing.T, testEnv) error{"proxy": openErr, "CLI": cliErr} {
				err := open(t, e)
				if !errors.Is(err, ErrStateInvalid) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: open with %s = %v, want one-line ErrStateInvalid", name, tt.name, err)
				}
			}
			if got := readFile(t, e.cfg.StatePath); !bytes.Equal(got, tt.data) {
				t.Errorf("state file rewritten after a refusal, want it left for the operator")
			}
		})
	}
}

func TestStateFileRefusesAnotherKeyring(t *testing.T) {
	e := stateEnv(t)
	initKeyring(t, e).Close()
	if err := os.Remove(e.cfg.Path); err != nil {
		t.Fatal(err)
	}
	m := openManager(t, e)
	if _, err := m.Init(ctxT(t)); !errors.Is(err, ErrRollback) {
		t.Fatalf("Init() over another keyring's state file = %v, want ErrRollback", err)
	}
	if _, err := os.Stat(e.cfg.Path); err == nil {
		t.Fatal("Init() wrote a keyring after refusing, want nothing written")
	}
}

// TestStateFileFollowsReloads: a running proxy records every newer keyring it installs, so a
// restart after a later rollback is refused too.
func TestStateFileFollowsReloads(t *testing.T) {
	e := stateEnv(t)
	initKeyring(t, e).Close()
	k := openKeyring(t, e)
	before := readFile(t, e.cfg.Path)
	m := openManager(t, withoutState(e))
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the proxy reloads epoch 2", func() bool { return k.Snapshot().Epoch() == 2 })
	if got := recordedEpoch(t, e); got != 2 {
		t.Fatalf("recorded epoch after a reload = %d, want 2", got)
	}
	k.Close()
	writeFile(t, e.cfg.Path, before)
	if err := openErr(t, e); !errors.Is(err, ErrRollback) {
		t.Fatalf("restart on the older keyring = %v, want ErrRollback", err)
	}
}

func TestPostgresStoreStateFileRefusesARolledBackRow(t *testing.T) {
	e := pgEnv(t)
	e.cfg.StatePath = t.TempDir() + "/keyring.state"
	initKeyring(t, e).Close()
	conn, err := pgx.Connect(ctxT(t), e.cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var old []byte
	if err := conn.QueryRow(ctxT(t), `SELECT sealed FROM pgseal_keyring.keyring WHERE id = 1`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	m := openManager(t, e)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := conn.Exec(ctxT(t), `UPDATE pgseal_keyring.keyring SET sealed = $1, epoch = 1 WHERE id = 1`, old); err != nil {
		t.Fatal(err)
	}
	if err := openErr(t, e); !errors.Is(err, ErrRollback) {
		t.Fatalf("restart on a rolled-back row = %v, want ErrRollback", err)
	}
}

// TestStateFileThatCannotBeWritten: a running proxy accepts a verified newer keyring even when
// the state file cannot record it (a revocation must take effect) and logs the problem; a one-shot
// command reports it in one line, with the fix.
func TestStateFileThatCannotBeWritten(t *testing.T) {
	e := fileEnv(t)
	initKeyring(t, e).Close()
	notDir := e.cfg.Path + ".d"
	writeFile(t, notDir, []byte("a file, so nothing can be created under it"))
	e.cfg.StatePath = notDir + "/keyring.state" // ENOTDIR, even for root
	k := openKeyring(t, e)
	if k.Snapshot().Epoch() != 1 {
		t.Fatalf("Open() with an unwritable state file: epoch %d, want 1", k.Snapshot().Epoch())
	}
	err := cliErr(t, e)
	if !errors.Is(err, errStateWrite) || !strings.Contains(err.Error(), "keyring.state_path") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("CLI with an unwritable state file = %v, want one line naming keyring.state_path", err)
	}
}
