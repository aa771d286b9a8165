package leaks

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestKeyringRollbackAcrossRestart is case 10: an attacker with write access to the keyring file
// puts back an older, validly signed copy that still holds a grant revoked since. A running proxy
// refuses an older epoch (keyring.ErrRollback); after a restart it must still refuse it, or at
// least not honour the revoked grant.
func TestKeyringRollbackAcrossRestart(t *testing.T) {
	server(t)
	checkGoroutines(t)
	e := newEnv(t)
	db := e.caseDB(t)
	ctx := context.Background()
	mgr := e.kr.Manager()
	allowed := func() bool {
		ks, ok := e.kr.Snapshot().Keyset("acme")
		return ok && e.kr.Snapshot().Allowed(roleN, ks)
	}
	if err := mgr.Grant(ctx, "acme", roleN); err != nil {
		t.Fatalf("Grant(acme, app_n) = %v", err)
	}
	if !eventually(10*time.Second, allowed) {
		t.Fatal("the running keyring did not take the grant of acme to app_n")
	}
	old, err := os.ReadFile(e.kcfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(t, e.connect(t, db, roleN, "acme"), "INSERT INTO users (tenant, note) VALUES ('acme', 'x')"); err != nil {
		t.Fatalf("app_n with the grant: insert = %v, want success", err)
	}
	if err := mgr.Revoke(ctx, "acme", roleN); err != nil {
		t.Fatalf("Revoke(acme, app_n) = %v", err)
	}
	if !eventually(10*time.Second, func() bool { return !allowed() }) {
		t.Fatal("the running keyring did not take the revoke")
	}
	if err := exec(t, e.connect(t, db, roleN, "acme"), "INSERT INTO users (tenant, note) VALUES ('acme', 'x')"); sqlstate(err) != "42501" {
		t.Fatalf("app_n after the revoke: insert = %v, want 42501", err)
	}

	e.stop()
	if err := os.WriteFile(e.kcfg.Path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.start(t); err != nil {
		t.Logf("restart on the rolled-back keyring refused: %v", err)
		return
	}
	mk := newMarker()
	c, err := e.dial(t, db, roleN, tenantParams("acme"))
	if err != nil {
		t.Logf("connect after the rollback refused: %v", err)
		return
	}
	err = exec(t, c, withMarker("INSERT INTO users (tenant, note) VALUES ('acme', 'MK')", mk))
	if err == nil {
		t.Errorf("after a restart on a keyring file rolled back to an epoch that still grants app_n acme, app_n's insert succeeded; want keyring.Open() = %v or the insert refused with 42501", keyring.ErrRollback)
	} else if sqlstate(err) != "42501" {
		t.Errorf("app_n's insert after the rollback = %v, want 42501", err)
	}
	assertNoLeak(t, db, mk)
}

// eventually is pgtest.Eventually.
func eventually(d time.Duration, cond func() bool) bool { return pgtest.Eventually(d, cond) }
