package keyring

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestManagerRefusesBadRequests(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	ctx := ctxT(t)
	if _, err := m.CreateKeyset(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	mustClient(t, m, "app", true)
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"a duplicate keyset name exists", func() error { _, err := m.CreateKeyset(ctx, "acme", ""); return err }, ErrExists},
		{"a bad keyset name is invalid", func() error { _, err := m.CreateKeyset(ctx, "Bad Name", ""); return err }, ErrInvalid},
		{"a description with a control character is invalid", func() error { _, err := m.CreateKeyset(ctx, "x", "a\x00b"); return err }, ErrInvalid},
		{"a duplicate client exists", func() error { _, err := m.CreateClient(ctx, "app", true); return err }, ErrExists},
		{"granting an unknown keyset is not found", func() error { return m.Grant(ctx, "nope", "app") }, ErrNotFound},
		{"granting to an unknown client is not found", func() error { return m.Grant(ctx, "acme", "nobody") }, ErrNotFound},
		{"revoking from an unknown client is not found", func() error { return m.Revoke(ctx, "acme", "nobody") }, ErrNotFound},
		{"rotating an unknown keyset is not found", func() error { _, err := m.Rotate(ctx, "nope"); return err }, ErrNotFound},
		{"disabling an unknown keyset is not found", func() error { _, err := m.Disable(ctx, "nope"); return err }, ErrNotFound},
		{"promoting a decrypt-only generation is invalid", func() error {
			if _, err := m.Rotate(ctx, "acme"); err != nil {
				return err
			}
			_, err := m.PromoteGeneration(ctx, "acme", 1)
			return err
		}, ErrInvalid},
		{"an access key of an unknown role is invalid", func() error { _, _, err := m.CreateAccessKey(ctx, "admin"); return err }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, tt.want) {
				t.Fatalf("op() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGrantAndRevokeAreIdempotent(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	ctx := ctxT(t)
	mustClient(t, m, "app", false)
	mustOK(t, m.Grant(ctx, "default", "app"))
	before, _ := m.Load(ctx)
	mustOK(t, m.Grant(ctx, "default", "app"))
	after, _ := m.Load(ctx)
	if after.Epoch != before.Epoch {
		t.Fatalf("epoch after a repeated Grant = %d, want unchanged %d", after.Epoch, before.Epoch)
	}
	mustOK(t, m.Revoke(ctx, "default", "app"))
	mustOK(t, m.Revoke(ctx, "default", "app"))
	cs, _ := m.ListClients(ctx)
	if len(cs) != 1 || len(cs[0].Grants) != 0 {
		t.Fatalf("ListClients() = %+v, want app without grants", cs)
	}
}

func TestAccessKeysAndTokens(t *testing.T) {
	e := fileEnv(t)
	m := initKeyring(t, e)
	ctx := ctxT(t)
	info, key, err := m.CreateAccessKey(ctx, RoleControl)
	if err != nil || !strings.HasPrefix(key, "pgsk_") {
		t.Fatalf("CreateAccessKey() = %q, %v, want a pgsk_ key", key, err)
	}
	doc, _ := m.Load(ctx)
	if raw := fmt.Sprint(doc); strings.Contains(raw, key[38:]) {
		t.Fatal("the stored keyring contains the access key secret")
	}
	if got, err := m.VerifyAccessKey(ctx, key); err != nil || got.ID != info.ID {
		t.Fatalf("VerifyAccessKey(valid) = %v, %v, want %v", got, err, info.ID)
	}
	wrong := []byte(key)
	if wrong[len(wrong)-5] = 'A'; key[len(key)-5] == 'A' { // still base64, another secret
		wrong[len(wrong)-5] = 'B'
	}
	for _, bad := range []string{"", "pgsk_", key + "x", string(wrong), strings.Replace(key, "pgsk_", "pgst_", 1)} {
		if _, err := m.VerifyAccessKey(ctx, bad); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("VerifyAccessKey(%q) = %v, want ErrUnauthorized", bad, err)
		}
	}
	tok, exp, err := m.IssueToken(ctx, key, 15*time.Minute)
	if err != nil || time.Until(exp) < 14*time.Minute {
		t.Fatalf("IssueToken() = %v, expiry %v, want a token valid 15 minutes", err, exp)
	}
	if _, err := m.VerifyToken(ctx, tok); err != nil {
		t.Fatalf("VerifyToken(fresh) = %v, want nil", err)
	}
	// Another replica (own store, same master key) accepts the token.
	if _, err := openManager(t, e).VerifyToken(ctx, tok); err != nil {
		t.Fatalf("VerifyToken() on another replica = %v, want nil", err)
	}
	flipped := []byte(tok)
	flipped[10] ^= 1
	for _, bad := range []string{"", tok[:len(tok)-1], string(flipped), key} {
		if _, err := m.VerifyToken(ctx, bad); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("VerifyToken(%q) = %v, want ErrUnauthorized", bad, err)
		}
	}
	m.now = func() time.Time { return exp }
	if _, err := m.VerifyToken(ctx, tok); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("VerifyToken(expired) = %v, want ErrUnauthorized", err)
	}
	if _, _, err := m.IssueToken(ctx, string(wrong), time.Minute); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("IssueToken(wrong key) = %v, want ErrUnauthorized", err)
	}
}

// concurrentWriters runs n goroutines per manager, each creating a keyset, a client and a grant.
func concurrentWriters(t *testing.T, n int, ms ...*Manager) {
	t.Helper()
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, n*len(ms))
	for mi, m := range ms {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("ks-%d-%d", mi, i)
				if _, err := m.CreateKeyset(ctx, name, ""); err != nil {
					errs <- err
					return
				}
				if _, err := m.CreateClient(ctx, "c-"+name, false); err != nil {
					errs <- err
					return
				}
				errs <- m.Grant(ctx, name, "c-"+name)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write = %v", err)
		}
	}
	doc, err := ms[0].Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := n * len(ms)
	grants := 0
	for _, c := range doc.Clients {
		grants += len(c.Grants)
	}
	if len(doc.Keysets) != total+1 || len(doc.Clients) != total || grants != total || doc.Epoch != uint64(1+3*total) {
		t.Fatalf("after %d writers: %d keysets, %d clients, %d grants, epoch %d; want %d, %d, %d, %d",
			total, len(doc.Keysets), len(doc.Clients), grants, doc.Epoch, total+1, total, total, 1+3*total)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	for _, e := range []testEnv{fileEnv(t), pgEnv(t)} {
		t.Run(e.cfg.Store+" store", func(t *testing.T) {
			m := initKeyring(t, e)
			concurrentWriters(t, 5, m, openManager(t, e), openManager(t, e))
		})
	}
}
