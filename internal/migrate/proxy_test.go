package migrate

import "testing"

// TestEncryptWithWriterThroughProxy is the online test with the writer going through pgseal
// (plaintext in, the proxy sealing once the column is cut over and NOTIFY pgseal_catalog
// arrives), plus a fixed set of application queries compared before and after through the proxy.
//
// TODO(migrate): switch on when `proxy serve` encrypts (internal/wire sealing, in progress):
// build ./cmd/proxy, start `serve` on a config with [[encrypt]] public.accounts.email
// (search eq, tenancy multi), connect the writer of online_test.go with
// options=-c app.tenant=<tenant> and w.sealed never set, run Encrypt directly as in
// TestEncryptOnlineWithWriterKilledAndResumed, then compare `SELECT * FROM accounts ORDER BY id`,
// `SELECT id FROM accounts WHERE email = $1` and `SELECT count(*) … GROUP BY tenant_id` through
// the proxy before and after.
func TestEncryptWithWriterThroughProxy(t *testing.T) {
	t.Skip("the proxy does not encrypt yet (internal/wire sealing in progress); the writer runs directly against PostgreSQL in TestEncryptOnlineWithWriterKilledAndResumed")
}
