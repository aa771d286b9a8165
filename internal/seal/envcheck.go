package seal

import (
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/wire"
)

// warnEnvelopeChecks logs, once per database and column, each configured bytea column whose
// envelope CHECK is missing, outdated or not validated: without it PostgreSQL accepts plaintext
// written around pgseal (a function, a rule, a direct connection). It runs where the proxy first
// reads a database's catalog because serve has no database credentials of its own at startup.
// It only warns: refusing sessions would take an application down over a missing backstop, and
// `proxy protect` adds it online. A failed query is logged at debug level and ignored. It runs
// once per database and process (outside transaction blocks only, so a failure cannot abort a
// client's block): a warning needs no more, and reloads stay one round trip.
func (sl *Sealer) warnEnvelopeChecks(info *wire.SessionInfo) {
	if _, done := sl.warned.LoadOrStore("checks\x00"+info.Database, struct{}{}); done {
		return
	}
	var cols []column.Column
	for _, e := range sl.cfg.Encrypt {
		if c, err := column.FromConfig(e); err == nil {
			cols = append(cols, c)
		}
	}
	rows, err := info.Exec(column.EnvelopeCheckQuery(cols))
	if err != nil {
		sl.log.Debug("catalog: could not read the envelope checks", zap.String("database", info.Database), zap.Error(err))
		return
	}
	for _, r := range rows {
		if len(r) != 2 || string(r[1]) == column.CheckOK {
			continue
		}
		id := string(r[0])
		if _, dup := sl.warned.LoadOrStore("check\x00"+info.Database+"\x00"+id, struct{}{}); !dup {
			sl.log.Warn("catalog: encrypted column has no current envelope CHECK, so PostgreSQL accepts plaintext written around pgseal; run proxy protect",
				zap.String("database", info.Database), zap.String("column", id), zap.String("check", string(r[1])))
		}
	}
}
