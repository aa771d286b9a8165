package seal

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/kms/kmstest"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// TestSealRefusesWhileKMSRefusesTheMasterKey runs the proxy on a keyring whose master key is in a
// local KMS: once the KMS key is disabled, the next keyring change (here a rotate through the
// control path) seals the keyring and statements on encrypted columns are refused with 42501;
// statements on plain columns still pass. After EnableKey and another change they work again.
func TestSealRefusesWhileKMSRefusesTheMasterKey(t *testing.T) {
	srv := kmstest.Start(t)
	key := srv.CreateKey(t)
	dir := t.TempDir()
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(dir, "keyring.json"), StatePath: filepath.Join(dir, "keyring.json.state"),
		MasterKey: "aws-kms://" + key, MasterKeyWrappedFile: filepath.Join(dir, "keyring.master.json"), KMSEndpoint: srv.Endpoint}
	ctx := ctxT(t)
	if _, err := keyring.CreateKMSMasterKey(ctx, kcfg); err != nil {
		t.Fatal(err)
	}
	e := newSealEnvKeyring(t, pgtest.New(t), "multi", sealSchema, sealColumns, kcfg, nil)
	c := e.connect(t, "", "acme")
	if _, err := c.Exec(ctx, "INSERT INTO users (tenant, email, age) VALUES ('acme', $1, $2)", "a@example.com", 41); err != nil {
		t.Fatalf("INSERT = %v", err)
	}
	read := func() (string, error) {
		var email string
		err := c.QueryRow(ctx, "SELECT email FROM users WHERE tenant = 'acme'").Scan(&email)
		return email, err
	}
	if got, err := read(); err != nil || got != "a@example.com" {
		t.Fatalf("SELECT email = %q, %v", got, err)
	}

	srv.DisableKey(t, key)
	if _, err := e.mgr.Rotate(ctx, "globex"); err != nil {
		t.Fatalf("Rotate() with the KMS key disabled = %v; the change is stored and applied sealed", err)
	}
	if err := e.kr.Snapshot().Sealed(); err == nil {
		t.Fatal("keyring not sealed after KMS refused the master key")
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		_, err := c.Exec(ctx, "INSERT INTO users (tenant, email, age) VALUES ('acme', $1, $2)", mode, "b@example.com", 42)
		if stateOf(err) != sqlstate.InsufficientPrivilege || !strings.Contains(err.Error(), "sealed") {
			t.Fatalf("INSERT into an encrypted column while sealed (%v) = %v, want 42501 naming the seal", mode, err)
		}
		var email string
		err = c.QueryRow(ctx, "SELECT email FROM users WHERE tenant = 'acme'", mode).Scan(&email)
		if stateOf(err) != sqlstate.InsufficientPrivilege || !strings.Contains(err.Error(), "sealed") {
			t.Fatalf("SELECT of an encrypted column while sealed (%v) = %q, %v, want 42501 naming the seal", mode, email, err)
		}
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE tenant = 'acme'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a statement on plain columns while sealed = %d, %v; want it to pass", n, err)
	}

	srv.EnableKey(t, key)
	if _, err := e.mgr.Rotate(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err != nil || got != "a@example.com" {
		t.Fatalf("SELECT email after EnableKey and a change = %q, %v", got, err)
	}
}
