package wire

import (
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/metrics"
)

// What `proxy check` (internal/check) needs of the encryption interceptor: it drives the very
// interceptor serving uses through the SessionOpener seam, so its verdicts cannot disagree with
// serving. This file is replaced by the exports of internal/seal (seal.New) at the merge.

// NewInterceptor returns the encryption interceptor for cfg's [[encrypt]] columns, as NewServer
// installs it.
func NewInterceptor(cfg *config.Config, kr *keyring.Keyring, log *zap.Logger, m *metrics.Metrics) (SessionOpener, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = metrics.New()
	}
	return newSealer(cfg, kr, log, m)
}

// PlanEncrypts reports whether a Plan the interceptor attached to a Query or Parse makes pgseal
// encrypt or decrypt: a statement that touches an encrypted column, returns one, or copies one.
// Plans that only follow settings, transactions or prepared statements report false.
func PlanEncrypts(p Plan) bool {
	touches := func(se *stmtExec) bool {
		return se.st != nil && (se.st.Touches || len(se.outputs) > 0 || se.copy != nil)
	}
	switch p := p.(type) {
	case *queryPlan:
		for i := range p.stmts {
			if touches(&p.stmts[i]) {
				return true
			}
		}
	case *stmtPlan:
		return touches(&p.exec) || p.hide
	}
	return false
}
