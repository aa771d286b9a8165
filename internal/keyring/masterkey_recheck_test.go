package keyring

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pgseal/pgseal/internal/kms/kmstest"
)

// TestKMSCheckedAtEveryKeyringChange runs a Keyring whose master key is in a local KMS and
// changes the keyring through another process's Manager (as the CLI or another replica would):
// with KMS up the change is applied; with the KMS key disabled the change is applied sealed (no
// key material) and recovers once the key is enabled again; with KMS stopped the change (a
// revoke) still takes effect and still-granted keysets keep working.
func TestKMSCheckedAtEveryKeyringChange(t *testing.T) {
	srv := kmstest.Start(t)
	key := srv.CreateKey(t)
	e := kmsEnv(t, srv, key)
	ctx := ctxT(t)
	if _, err := CreateKMSMasterKey(ctx, e.cfg); err != nil {
		t.Fatal(err)
	}
	other := initKeyring(t, e) // another process: its changes reach k through the store's watch
	core, logs := observer.New(zap.InfoLevel)
	k, err := Open(ctx, e.cfg, nil, zap.New(core))
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { k.Close() })
	master := base64.StdEncoding.EncodeToString(k.sealer.master.Bytes())

	// change makes one keyring change through the other process and waits until k has it.
	change := func(t *testing.T, what string, fn func() error) {
		t.Helper()
		before := k.Snapshot().Epoch()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		eventually(t, 15*time.Second, what+" reaches the running keyring", func() bool { return k.Snapshot().Epoch() > before })
	}
	usable := func(t *testing.T, name string) {
		t.Helper()
		s := k.Snapshot()
		ks, ok := s.Keyset(name)
		if !ok || !s.Allowed("app", ks) {
			t.Fatalf("keyset %s not allowed for app", name)
		}
		if _, err := ks.PrimaryColumnKey("c"); err != nil {
			t.Fatalf("keyset %s: PrimaryColumnKey() = %v", name, err)
		}
		if _, err := ks.TermKey("c"); err != nil {
			t.Fatalf("keyset %s: TermKey() = %v", name, err)
		}
	}
	count := func(msg string, level zapcore.Level) int {
		return logs.FilterMessageSnippet(msg).FilterLevelExact(level).Len()
	}

	t.Run("KMS up: a change is applied, nothing sealed", func(t *testing.T) {
		change(t, "create acme", func() error { _, err := other.CreateKeyset(ctx, "acme", ""); return err })
		change(t, "create client app", func() error { _, err := other.CreateClient(ctx, "app", false); return err })
		change(t, "grant acme", func() error { return other.Grant(ctx, "acme", "app") })
		change(t, "grant default", func() error { return other.Grant(ctx, DefaultKeysetName, "app") })
		if err := k.Snapshot().Sealed(); err != nil {
			t.Fatalf("Sealed() = %v", err)
		}
		usable(t, "acme")
		usable(t, DefaultKeysetName)
	})

	t.Run("KMS key disabled: the change is applied sealed; enabled again: it recovers", func(t *testing.T) {
		srv.DisableKey(t, key)
		change(t, "rotate acme", func() error { _, err := other.Rotate(ctx, "acme"); return err })
		s := k.Snapshot()
		if err := s.Sealed(); !errors.Is(err, ErrSealed) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Disabled") {
			t.Fatalf("Sealed() = %v, want ErrSealed with KMS's DisabledException", err)
		}
		for _, name := range []string{"acme", DefaultKeysetName} {
			ks, ok := s.Keyset(name)
			if !ok {
				t.Fatalf("keyset %s gone from the sealed snapshot", name)
			}
			if s.Allowed("app", ks) {
				t.Fatalf("sealed snapshot allows keyset %s", name)
			}
			if _, err := ks.PrimaryColumnKey("c"); !errors.Is(err, ErrSealed) {
				t.Fatalf("sealed %s: PrimaryColumnKey() = %v, want ErrSealed", name, err)
			}
			if _, err := ks.ColumnKey(1, "c"); !errors.Is(err, ErrSealed) {
				t.Fatalf("sealed %s: ColumnKey(1) = %v, want ErrSealed", name, err)
			}
			if _, err := ks.TermKey("c"); !errors.Is(err, ErrSealed) {
				t.Fatalf("sealed %s: TermKey() = %v, want ErrSealed", name, err)
			}
		}
		// Still sealed at the next change while the key stays disabled; one log line for both.
		change(t, "create beta", func() error { _, err := other.CreateKeyset(ctx, "beta", ""); return err })
		if k.Snapshot().Sealed() == nil {
			t.Fatal("unsealed while the KMS key is still disabled")
		}
		if n := count("keyring sealed", zapcore.ErrorLevel); n != 1 {
			t.Fatalf("%d 'keyring sealed' error lines, want 1", n)
		}
		for _, l := range logs.All() {
			for _, f := range l.Context {
				if strings.Contains(l.Message+f.String, master) {
					t.Fatalf("log line carries the master key: %s", l.Message)
				}
			}
		}

		srv.EnableKey(t, key)
		change(t, "rotate beta", func() error { _, err := other.Rotate(ctx, "beta"); return err })
		if err := k.Snapshot().Sealed(); err != nil {
			t.Fatalf("Sealed() after EnableKey and a change = %v", err)
		}
		usable(t, "acme")
		if count("keyring unsealed", zapcore.InfoLevel) != 1 {
			t.Fatal("no 'keyring unsealed' line")
		}
	})

	t.Run("KMS unreachable: the revoke takes effect, granted keysets keep working", func(t *testing.T) {
		srv.Stop()
		change(t, "revoke acme", func() error { return other.Revoke(ctx, "acme", "app") })
		s := k.Snapshot()
		if err := s.Sealed(); err != nil {
			t.Fatalf("Sealed() during an outage = %v, want nil (the key in memory is kept)", err)
		}
		if ks, _ := s.Keyset("acme"); s.Allowed("app", ks) {
			t.Fatal("revoked acme still allowed during the KMS outage")
		}
		usable(t, DefaultKeysetName)
		change(t, "disable beta", func() error { _, err := other.Disable(ctx, "beta"); return err })
		if ks, _ := k.Snapshot().Keyset("beta"); ks.Active() {
			t.Fatal("disabled beta still active during the KMS outage")
		}
		usable(t, DefaultKeysetName)
		if n := count("key management service unreachable", zapcore.WarnLevel); n != 1 {
			t.Fatalf("%d 'unreachable' warnings for one outage, want 1", n)
		}
	})
}

// TestKMSRecheckWhileSealed: a sealed keyring asks KMS again on its own and unseals once the key
// is enabled, without a keyring change.
func TestKMSRecheckWhileSealed(t *testing.T) {
	defer func(d time.Duration) { kmsRecheckEvery = d }(kmsRecheckEvery)
	kmsRecheckEvery = 100 * time.Millisecond
	srv := kmstest.Start(t)
	key := srv.CreateKey(t)
	e := kmsEnv(t, srv, key)
	ctx := ctxT(t)
	if _, err := CreateKMSMasterKey(ctx, e.cfg); err != nil {
		t.Fatal(err)
	}
	other := initKeyring(t, e)
	k := openKeyring(t, e)
	srv.DisableKey(t, key)
	before := k.Snapshot().Epoch()
	if _, err := other.CreateKeyset(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the change applied sealed", func() bool {
		return k.Snapshot().Epoch() > before && k.Snapshot().Sealed() != nil
	})
	srv.EnableKey(t, key)
	eventually(t, 15*time.Second, "unsealed by the periodic recheck", func() bool { return k.Snapshot().Sealed() == nil })
	if ks, _ := k.Snapshot().Keyset("acme"); ks == nil {
		t.Fatal("acme missing after recovery")
	} else if _, err := ks.PrimaryColumnKey("c"); err != nil {
		t.Fatalf("PrimaryColumnKey() after recovery = %v", err)
	}

	// Sealed, then KMS unreachable: neither a change nor the rechecks unseal it, and the change
	// (a disable) is still applied.
	srv.DisableKey(t, key)
	before = k.Snapshot().Epoch()
	if _, err := other.CreateKeyset(ctx, "beta", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "sealed again", func() bool {
		return k.Snapshot().Epoch() > before && k.Snapshot().Sealed() != nil
	})
	srv.Stop()
	before = k.Snapshot().Epoch()
	if _, err := other.Disable(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the disable applied during the outage", func() bool { return k.Snapshot().Epoch() > before })
	time.Sleep(3 * kmsRecheckEvery) // a few rechecks against the stopped KMS
	s := k.Snapshot()
	if !errors.Is(s.Sealed(), ErrSealed) {
		t.Fatalf("Sealed() after a change while KMS is unreachable = %v, want still sealed", s.Sealed())
	}
	if ks, _ := s.Keyset("acme"); ks == nil || ks.Active() {
		t.Fatal("acme not disabled")
	}
}
