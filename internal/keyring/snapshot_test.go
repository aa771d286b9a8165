package keyring

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pgseal/pgseal/internal/crypto"
)

func TestAllowedDeniesByDefault(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	ctx := ctxT(t)
	for _, name := range []string{"acme", "globex", "off"} {
		if _, err := m.CreateKeyset(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	mustOK(t, m.Grant(ctx, "acme", mustClient(t, m, "app", false)))
	mustOK(t, m.Grant(ctx, "off", "app"))
	if _, err := m.Disable(ctx, "off"); err != nil {
		t.Fatal(err)
	}
	mustClient(t, m, "plain", true)
	s := openKeyring(t, e).Snapshot()
	ks := func(n string) *Keyset { k, _ := s.Keyset(n); return k }
	tests := []struct {
		name   string
		client string
		ks     *Keyset
		want   bool
	}{
		{"a granted client may use an active keyset", "app", ks("acme"), true},
		{"a client may not use a keyset it has no grant on", "app", ks("globex"), false},
		{"a granted client may not use a disabled keyset", "app", ks("off"), false},
		{"an unknown client may use nothing", "nobody", ks("acme"), false},
		{"a client created with the default grant may use the default keyset", "plain", s.Default(), true},
		{"a client created without the default grant may not use it", "app", s.Default(), false},
		{"a nil keyset is refused", "app", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Allowed(tt.client, tt.ks); got != tt.want {
				t.Fatalf("Allowed(%q, %v) = %v, want %v", tt.client, tt.ks, got, tt.want)
			}
		})
	}
}

func TestSnapshotLooksKeysetsUpByNameAndID(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	info, err := m.CreateKeyset(ctxT(t), "acme", "Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	s := openKeyring(t, e).Snapshot()
	byName, ok1 := s.Keyset("acme")
	byText, ok2 := s.Keyset(info.ID.String())
	byID, ok3 := s.KeysetByID(crypto.KeysetID(info.ID))
	if !ok1 || !ok2 || !ok3 || byName != byText || byName != byID || byName.Description != "Acme Corp" {
		t.Fatalf("Keyset lookups = %v/%v/%v, want one keyset acme", byName, byText, byID)
	}
	if _, ok := s.Keyset("nope"); ok {
		t.Fatal("Keyset(nope) found something, want false")
	}
	if s.Default() == nil || s.Default().Name != DefaultKeysetName {
		t.Fatalf("Default() = %v, want the default keyset", s.Default())
	}
}

func TestRotationKeepsOldGenerationsDecryptingUntilRetired(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	k := openKeyring(t, e)
	km := k.Manager()
	ctx := ctxT(t)
	ks1, _ := k.Snapshot().Keyset("default")
	ck1, err := ks1.PrimaryColumnKey("public.users.email")
	if err != nil {
		t.Fatal(err)
	}
	env1, err := ck1.Seal(nil, []byte("alice@example.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := km.Rotate(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	ks2, _ := k.Snapshot().Keyset("default")
	if got := ks2.PrimaryGeneration(); got != 2 {
		t.Fatalf("PrimaryGeneration() after Rotate = %d, want 2", got)
	}
	old, err := ks2.ColumnKey(1, "public.users.email")
	if err != nil {
		t.Fatalf("ColumnKey(1) after Rotate = %v, want a key", err)
	}
	if pt, err := old.Open(nil, env1); err != nil || string(pt) != "alice@example.com" {
		t.Fatalf("Open() of a generation-1 value = %q, %v, want the plaintext", pt, err)
	}
	if _, err := m.RetireGeneration(ctx, "default", 2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("RetireGeneration(primary) = %v, want ErrInvalid", err)
	}
	if _, err := km.RetireGeneration(ctx, "default", 1); err != nil {
		t.Fatal(err)
	}
	ks3, _ := k.Snapshot().Keyset("default")
	if _, err := ks3.ColumnKey(1, "public.users.email"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ColumnKey(retired) = %v, want ErrUnavailable", err)
	}
	if _, err := ks3.ColumnKey(9, "public.users.email"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ColumnKey(unknown) = %v, want ErrUnavailable", err)
	}
	if _, err := km.RetireGeneration(ctx, "default", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RetireGeneration(9) = %v, want ErrNotFound", err)
	}
}

func TestCryptoHandlesAreCachedAndTermsArePerKeyset(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	s := openKeyring(t, e).Snapshot()
	def, acme := s.Default(), mustKeyset(t, s, "acme")
	a1, _ := def.PrimaryColumnKey("c")
	a2, _ := def.PrimaryColumnKey("c")
	if a1 == nil || a1 != a2 {
		t.Fatal("PrimaryColumnKey() twice gave different handles, want one cached handle")
	}
	t1, err := def.TermKey("d")
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := def.TermKey("d")
	t3, _ := acme.TermKey("d")
	x := t1.Term(nil, 1, []byte("v"))
	if !bytes.Equal(x, t2.Term(nil, 1, []byte("v"))) || bytes.Equal(x, t3.Term(nil, 1, []byte("v"))) {
		t.Fatal("Term() is not deterministic per keyset or equal across keysets")
	}
	env, _ := a1.Seal(nil, []byte("x"), nil)
	b, _ := acme.PrimaryColumnKey("c")
	if _, err := b.Open(nil, env); err == nil {
		t.Fatal("Open() with another keyset's key succeeded, want an error")
	}
}

func TestDisabledKeysetHasNoKeys(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	if _, err := m.Disable(ctxT(t), "default"); err != nil {
		t.Fatal(err)
	}
	ks := openKeyring(t, e).Snapshot().Default()
	if _, err := ks.PrimaryColumnKey("c"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("PrimaryColumnKey() of a disabled keyset = %v, want ErrUnavailable", err)
	}
	if _, err := ks.TermKey("c"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("TermKey() of a disabled keyset = %v, want ErrUnavailable", err)
	}
	if ks.Active() {
		t.Fatal("Active() of a disabled keyset = true, want false")
	}
}

func TestSwappedWrappedRootsDoNotUnwrap(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	// Someone with the master key and write access swaps two keysets' roots and re-MACs: the
	// roots' AAD still binds each to its keyset.
	_, err := m.store.Update(ctxT(t), func(d *Document) error {
		d.Keysets[0].Data[0].WrappedRoot, d.Keysets[1].Data[0].WrappedRoot = d.Keysets[1].Data[0].WrappedRoot, d.Keysets[0].Data[0].WrappedRoot
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctxT(t), e.cfg, e.getenv, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("Open() with swapped roots = %v, want ErrTampered", err)
	}
}

func mustKeyset(t *testing.T, s *Snapshot, name string) *Keyset {
	t.Helper()
	ks, ok := s.Keyset(name)
	if !ok {
		t.Fatalf("Keyset(%q) not found", name)
	}
	return ks
}

func mustClient(t *testing.T, m *Manager, name string, grantDefault bool) string {
	t.Helper()
	if _, err := m.CreateClient(ctxT(t), name, grantDefault); err != nil {
		t.Fatalf("CreateClient(%q) = %v", name, err)
	}
	return name
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOrdAndMatchKeysAreCachedPerKeysetAndDisabledHasNone(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	if _, err := m.CreateKeyset(ctxT(t), "acme", ""); err != nil {
		t.Fatal(err)
	}
	s := openKeyring(t, e).Snapshot()
	def, acme := s.Default(), mustKeyset(t, s, "acme")
	o1, err := def.OrdKey("d")
	if err != nil {
		t.Fatal(err)
	}
	o2, _ := def.OrdKey("d")
	o3, _ := acme.OrdKey("d")
	if o1 != o2 || o1 == o3 || o1.Keyset() != def.ID || o3.Keyset() != acme.ID {
		t.Fatal("OrdKey() is not cached per keyset and domain")
	}
	x, _ := o1.Term(nil, []byte("v"), true)
	y, _ := o3.Term(nil, []byte("v"), true)
	if bytes.Equal(x[17:], y[17:]) {
		t.Fatal("two keysets share order-term numbers")
	}
	m1, err := def.MatchKey("d")
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := def.MatchKey("d")
	if m1 != m2 || m1.Keyset() != def.ID {
		t.Fatal("MatchKey() is not cached")
	}
	if _, err := m.Disable(ctxT(t), "acme"); err != nil {
		t.Fatal(err)
	}
	ks := mustKeyset(t, openKeyring(t, e).Snapshot(), "acme")
	if _, err := ks.OrdKey("d"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("OrdKey() of a disabled keyset = %v, want ErrUnavailable", err)
	}
	if _, err := ks.MatchKey("d"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("MatchKey() of a disabled keyset = %v, want ErrUnavailable", err)
	}
}
