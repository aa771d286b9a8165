package keyring

import (
	"errors"
	"testing"
	"time"
)

// TestChangesReachAnotherKeyringWithinOneSecond runs two Keyrings on one store, as two pgseal
// processes would, and checks that create, revoke and disable through one are in force in the
// other within a second.
func TestChangesReachAnotherKeyringWithinOneSecond(t *testing.T) {
	for _, e := range []testEnv{pgEnv(t), fileEnv(t)} {
		t.Run(e.cfg.Store+" store", func(t *testing.T) {
			initKeyring(t, e)
			a, b := openKeyring(t, e), openKeyring(t, e)
			ma := a.Manager()
			ctx := ctxT(t)
			sub := b.Subscribe()

			if _, err := ma.CreateKeyset(ctx, "acme", ""); err != nil {
				t.Fatal(err)
			}
			mustClient(t, ma, "app", false)
			mustOK(t, ma.Grant(ctx, "acme", "app"))
			allowed := func() bool {
				ks, ok := b.Snapshot().Keyset("acme")
				return ok && b.Snapshot().Allowed("app", ks)
			}
			eventually(t, time.Second, "created keyset and grant visible in the other keyring", allowed)
			select {
			case <-sub:
			case <-time.After(time.Second):
				t.Fatal("Subscribe() channel did not fire after a new snapshot")
			}

			mustOK(t, ma.Revoke(ctx, "acme", "app"))
			eventually(t, time.Second, "revoke in force in the other keyring", func() bool { return !allowed() })

			mustOK(t, ma.Grant(ctx, "acme", "app"))
			eventually(t, time.Second, "grant back in force", allowed)
			if _, err := ma.Disable(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Second, "disable in force in the other keyring", func() bool {
				ks, ok := b.Snapshot().Keyset("acme")
				return ok && !ks.Active() && !b.Snapshot().Allowed("app", ks)
			})
			if a.Snapshot().Epoch() != b.Snapshot().Epoch() {
				t.Fatalf("epochs %d and %d, want equal", a.Snapshot().Epoch(), b.Snapshot().Epoch())
			}
		})
	}
}

func TestCloseIsIdempotentAndClosesSubscriptions(t *testing.T) {
	e := fileEnv(t)
	initKeyring(t, e)
	k := openKeyring(t, e)
	sub := k.Subscribe()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	if _, ok := <-sub; ok {
		t.Fatal("Subscribe() channel still open after Close, want closed")
	}
}

func TestOpenWithoutKeyringFails(t *testing.T) {
	for _, e := range []testEnv{fileEnv(t), pgEnv(t)} {
		if _, err := Open(ctxT(t), e.cfg, e.getenv, nil); !errors.Is(err, ErrNotInitialized) {
			t.Fatalf("Open() of an empty %s store = %v, want ErrNotInitialized", e.cfg.Store, err)
		}
	}
}
