package seal

import (
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/wire"
)

// Catalog trust. The catalog is read over a client session's own connection, so what the session
// did may colour the answer; what one session read is shared with every session of the database.
//
//   - The query is immune to the session's settings and objects (catalog.Query).
//   - A read made while the session is inside a transaction block (it may see its own
//     uncommitted DDL, and its snapshot may be old) serves that session only, until the block
//     ends; the next statement after it reads the catalog again, and that read is shared.
//   - Once a shared read found a configured column bytea, a later read finding it is not bytea
//     (so "pending": relayed as plaintext) is not believed: the column's table, its descendants
//     and views are refused until the proxy restarts, and an error is logged. `proxy decrypt`
//     does exactly this on purpose: restart pgseal after it (and drop the column from [[encrypt]]).

// loadCatalog reads the configured tables' columns with info.Exec and returns a new entry,
// published for every session unless the read ran inside a transaction block.
func (sl *Sealer) loadCatalog(info *wire.SessionInfo) (*catalogEntry, error) {
	ci, marker, err := sl.readCatalog(info)
	if err != nil {
		return nil, err
	}
	shared := info.TxStatus == nil || info.TxStatus() == 'I'
	sl.distrustDemoted(info.Database, ci, shared)
	for id, typ := range ci.Pending {
		if _, dup := sl.warned.LoadOrStore(info.Database+"\x00"+id, struct{}{}); !dup {
			sl.log.Warn("catalog: configured column is not bytea yet; relaying it as plaintext",
				zap.String("database", info.Database), zap.String("column", id), zap.String("type", typ))
		}
	}
	if shared {
		sl.warnEnvelopeChecks(info)
	}
	sl.prepareSchema(ci.Schema)
	if !shared {
		return sl.cats.private(ci, marker), nil
	}
	return sl.cats.put(info.Database, ci, marker), nil
}

// readMarker is the marker read with a catalog, and the fast query that computes it again.
type readMarker struct{ value, fastSQL string }

// readCatalog runs the catalog query and builds the Info; the marker comes first (its own row).
func (sl *Sealer) readCatalog(info *wire.SessionInfo) (*catalog.Info, readMarker, error) {
	rows, err := info.Exec(sl.catalogSQL)
	if err != nil {
		var pe *sqlstate.Error
		if errors.As(err, &pe) || errors.Is(err, wire.ErrNotIdle) {
			return nil, readMarker{}, err
		}
		sl.log.Error("catalog: read failed", zap.String("database", info.Database), zap.Error(err))
		return nil, readMarker{}, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal could not read the catalog of the encrypted columns"}
	}
	value, ok := markerOf(rows)
	marker := readMarker{value: value}
	if tree := markerTree(rows); tree != "" {
		marker.fastSQL = catalog.FastMarkerQuery(catalog.Tables(sl.cfg.Encrypt), tree)
	}
	if !ok {
		return nil, readMarker{}, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal could not read the catalog: unexpected row"}
	}
	var out []catalog.Row
	for _, r := range rows[1:] {
		row, err := catalog.ParseRow(r)
		if err != nil {
			return nil, readMarker{}, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal could not read the catalog: unexpected row"}
		}
		out = append(out, row)
	}
	ci, err := catalog.Build(sl.cfg.Encrypt, out)
	if err != nil {
		reason := firstLine(err.Error())
		sl.log.Error("catalog: encrypted columns do not match the database", zap.String("database", info.Database), zap.Error(err))
		return nil, readMarker{}, &sqlstate.Error{Code: sqlstate.InternalError, Message: "pgseal: encrypted column configuration does not match the database: " + reason}
	}
	return ci, marker, nil
}

// distrustDemoted refuses the tables of pending columns that an earlier shared read found bytea,
// and remembers the bytea columns of a shared read.
func (sl *Sealer) distrustDemoted(db string, ci *catalog.Info, shared bool) {
	for id := range ci.Pending {
		if _, was := sl.encrypted.Load(db + "\x00" + id); !was {
			continue
		}
		table := id[:strings.LastIndexByte(id, '.')]
		ci.RefuseTable(table, fmt.Sprintf("column %s was encrypted and is not bytea any more; pgseal refuses table %s until it is restarted",
			strings.TrimPrefix(id, "public."), strings.TrimPrefix(table, "public.")))
		if _, dup := sl.warned.LoadOrStore("demoted\x00"+db+"\x00"+id, struct{}{}); !dup {
			sl.log.Error("catalog: an encrypted column is not bytea any more; its table is refused until pgseal restarts (after proxy decrypt, remove it from [[encrypt]])",
				zap.String("database", db), zap.String("column", id), zap.String("type", ci.Pending[id]))
		}
	}
	if !shared {
		return
	}
	for id := range ci.Types {
		sl.encrypted.Store(db+"\x00"+id, struct{}{})
	}
}

// inBlock reports whether the session's last ReadyForQuery was inside a transaction block.
func (ss *Session) inBlock() bool {
	return ss.info.TxStatus != nil && ss.info.TxStatus() != 'I'
}
