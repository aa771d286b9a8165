package seal

import (
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// rawClient speaks the protocol by hand, for what pgx will not send (pgtest.RawClient).
type rawClient struct{ *pgtest.RawClient }

// dialRaw connects to the proxy and completes a trust startup as the superuser.
func (p *testProxy) dialRaw(t *testing.T) *rawClient {
	t.Helper()
	return p.dialRawWith(t, nil)
}

// dialRawWith is dialRaw with more startup parameters.
func (p *testProxy) dialRawWith(t *testing.T, params map[string]string) *rawClient {
	t.Helper()
	return &rawClient{pgtest.DialRaw(t, p.addr, p.db.Name, params)}
}

func (rc *rawClient) send(msgs ...pgproto3.FrontendMessage) { rc.T.Helper(); rc.Send(msgs...) }

func (rc *rawClient) until(typ byte) string { rc.T.Helper(); return rc.Until(typ) }
