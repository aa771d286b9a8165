package column

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/value"
)

// testSnapshot is a file keyring with keysets acme and globex.
func testSnapshot(t testing.TB) *keyring.Snapshot {
	t.Helper()
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(string) string { return key }
	m, err := keyring.OpenManager(ctx, kcfg, getenv)
	if err != nil {
		t.Fatalf("OpenManager() = %v", err)
	}
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Init() = %v", err)
	}
	for _, ks := range []string{"acme", "globex"} {
		if _, err := m.CreateKeyset(ctx, ks, ""); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", ks, err)
		}
	}
	_ = m.Close()
	kr, err := keyring.Open(ctx, kcfg, getenv, nil)
	if err != nil {
		t.Fatalf("keyring.Open() = %v", err)
	}
	t.Cleanup(func() { _ = kr.Close() })
	return kr.Snapshot()
}

func TestSealTermOpen(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	globex, _ := snap.Keyset("globex")
	col, err := FromConfig(config.Encrypt{Table: "users", Column: "Email", Type: "text", Search: []string{"eq"}})
	if err != nil {
		t.Fatal(err)
	}
	if col.ID != "public.users.email" || col.Domain != col.ID || !col.Eq || col.QualifiedTable() != "public.users" {
		t.Fatalf("FromConfig() = %+v", col)
	}
	plain := append([]byte{byte(value.Text)}, "a@example.com"...)
	env, err := col.Seal(nil, acme, plain)
	if err != nil {
		t.Fatalf("Seal() = %v", err)
	}
	term, err := col.Term(acme, plain)
	if err != nil {
		t.Fatalf("Term() = %v", err)
	}
	h, err := crypto.ParseHeader(env)
	if err != nil || string(h.Term) != string(term) {
		t.Fatalf("the envelope's term = %x, %v, want Term()'s %x", h.Term, err, term)
	}

	t.Run("any keyset", func(t *testing.T) {
		got, ks, _, err := col.Open(nil, snap, env, nil)
		if err != nil || string(got) != string(plain) || ks.Name != "acme" {
			t.Fatalf("Open() = %q, %v, %v, want the plaintext under acme", got, ks, err)
		}
	})
	t.Run("the expected keyset", func(t *testing.T) {
		if got, _, _, err := col.Open(nil, snap, env, &acme.ID); err != nil || string(got) != string(plain) {
			t.Fatalf("Open(want acme) = %q, %v", got, err)
		}
	})
	t.Run("another keyset is refused and named", func(t *testing.T) {
		_, ks, h, err := col.Open(nil, snap, env, &globex.ID)
		if !errors.Is(err, ErrOtherKeyset) || ks == nil || ks.Name != "acme" || h.Keyset != acme.ID {
			t.Fatalf("Open(want globex) = %v, %v, %v, want ErrOtherKeyset naming acme", ks, h.Keyset, err)
		}
	})
	t.Run("another column's key fails", func(t *testing.T) {
		other := col
		other.ID = "public.users.name"
		if _, _, _, err := other.Open(nil, snap, env, nil); err == nil {
			t.Fatal("Open() under another column id = nil error")
		}
	})
	t.Run("a malformed envelope fails", func(t *testing.T) {
		if _, _, _, err := col.Open(nil, snap, env[:10], nil); err == nil {
			t.Fatal("Open(truncated) = nil error")
		}
	})
}

// TestColumnOpenAllocateNothing: opening a value (keyset check included) allocates nothing beyond
// the caller's buffer, as the crypto underneath (the proxy decrypts every result field with it).
func TestColumnOpenAllocateNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	col, err := FromConfig(config.Encrypt{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}})
	if err != nil {
		t.Fatal(err)
	}
	env, err := col.Seal(nil, acme, append([]byte{byte(value.Text)}, "a@example.com"...))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { _, _, _, _ = col.Open(buf[:0], snap, env, &acme.ID) }); n != 0 {
		t.Fatalf("Open() allocates %v times, want 0", n)
	}
}

// TestOpenCached: a remembered column key changes no answer. The keyset check comes first (a
// value of another keyset is refused even right after a value of the expected one), a value of
// another generation, column or snapshot is opened with its own key, and tampering still fails.
func TestOpenCached(t *testing.T) {
	snap := testSnapshot(t)
	snap2 := testSnapshot(t) // another keyring: same names, other keys
	acme, _ := snap.Keyset("acme")
	globex, _ := snap.Keyset("globex")
	col, err := FromConfig(config.Encrypt{Table: "users", Column: "email", Type: "text"})
	if err != nil {
		t.Fatal(err)
	}
	plain := append([]byte{byte(value.Text)}, "a@example.com"...)
	envA, _ := col.Seal(nil, acme, plain)
	envG, _ := col.Seal(nil, globex, plain)
	var kc KeyCache
	for range 2 {
		if got, _, _, err := col.OpenCached(nil, snap, envA, &acme.ID, &kc); err != nil || string(got) != string(plain) {
			t.Fatalf("OpenCached(acme) = %q, %v", got, err)
		}
	}
	if _, ks, _, err := col.OpenCached(nil, snap, envG, &acme.ID, &kc); !errors.Is(err, ErrOtherKeyset) || ks == nil || ks.Name != "globex" {
		t.Fatalf("OpenCached(globex's value, want acme) = %v, %v, want ErrOtherKeyset naming globex", ks, err)
	}
	if got, _, _, err := col.OpenCached(nil, snap, envG, nil, &kc); err != nil || string(got) != string(plain) {
		t.Fatalf("OpenCached(globex, any keyset) = %q, %v", got, err)
	}
	other := col
	other.ID = "public.users.name"
	if _, _, _, err := col.OpenCached(nil, snap, envA, &acme.ID, &kc); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := other.OpenCached(nil, snap, envA, &acme.ID, &kc); err == nil {
		t.Fatal("OpenCached() under another column after a cached key = nil error")
	}
	if _, _, _, err := col.OpenCached(nil, snap, envA, &acme.ID, &kc); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := col.OpenCached(nil, snap2, envA, nil, &kc); err == nil {
		t.Fatal("OpenCached() with another keyring's snapshot after a cached key = nil error")
	}
	tampered := append([]byte(nil), envA...)
	tampered[len(tampered)-1] ^= 1
	if _, _, _, err := col.OpenCached(nil, snap, envA, &acme.ID, &kc); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := col.OpenCached(nil, snap, tampered, &acme.ID, &kc); err == nil {
		t.Fatal("OpenCached(tampered) = nil error")
	}
	if _, _, _, err := col.OpenCached(nil, snap, envA[:30], &acme.ID, &kc); !errors.Is(err, crypto.ErrMalformed) {
		t.Fatalf("OpenCached(truncated) after a cached key = %v, want ErrMalformed", err)
	}
	buf := make([]byte, 0, 64)
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { _, _, _, _ = col.OpenCached(buf[:0], snap, envA, &acme.ID, &kc) }); n != 0 {
			t.Fatalf("OpenCached() allocates %v times, want 0", n)
		}
	}
}
