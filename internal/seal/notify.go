package seal

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/wire"
	"go.uber.org/zap"
)

// Catalog change notifications. `proxy encrypt`/`proxy decrypt` end their cut-over transaction
// with NOTIFY pgseal_catalog, so every session LISTENs on that channel over its own upstream
// connection (from Open) and marks its catalog stale when a notification arrives: the reload then
// runs at the next safe point, before the session's next statement, and idle sessions switch to
// encrypting (or back) without a refused statement.
//
// Decision on a client that LISTENs pgseal_catalog itself: the backend has one registration per
// channel, shared by pgseal and the client. pgseal swallows the channel's notifications until
// the client's own text LISTENs it; from then on they are forwarded as well as used. When the
// client's text UNLISTENs (the channel or *) or runs DISCARD ALL, pgseal's registration is gone
// too: it LISTENs again at the next safe point outside a transaction block, and the client's
// forwarding ends (a client that UNLISTENs * no longer wants them). The texts are matched
// conservatively (a word anywhere in the statement text).

// catalogChannel is the channel the migration tool notifies after a cut-over.
const catalogChannel = "pgseal_catalog"

// listenSQL registers the session for catalog notifications.
const listenSQL = "LISTEN " + catalogChannel

// listen runs LISTEN pgseal_catalog with exec. A server refusal (a hot standby cannot LISTEN) is
// logged and the session goes on without notifications (the 5 s catalog age and DDL tags still
// apply); a broken upstream is returned.
func (sl *Sealer) listen(info *wire.SessionInfo) error {
	_, err := sl.listenAfter(info, "")
	return err
}

// listenAfter runs sql (statements ending in ";", whose rows it returns) and LISTEN in one
// round trip. The rows come before a LISTEN a standby refuses.
func (sl *Sealer) listenAfter(info *wire.SessionInfo, sql string) ([][][]byte, error) {
	rows, err := info.Exec(sql + listenSQL)
	if err != nil && !sl.listenRefused(info, err) {
		return nil, err
	}
	return rows, nil
}

// listenRefused reports whether err is the server's refusal of pgseal's LISTEN (logged once per
// database), rather than a broken upstream, a sqlstate.Error or a busy session.
func (sl *Sealer) listenRefused(info *wire.SessionInfo, err error) bool {
	if _, ok := sqlstate.As(err); ok || wire.IsUpstreamError(err) || errors.Is(err, wire.ErrNotIdle) {
		return false
	}
	sl.warnListenRefused(info.Database, err)
	return true
}

// warnListenRefused logs, once per database, that the server refused pgseal's LISTEN (err may
// be nil when only the refusal is known).
func (sl *Sealer) warnListenRefused(db string, err error) {
	if _, dup := sl.warned.LoadOrStore("listen\x00"+db, struct{}{}); !dup {
		sl.log.Warn("catalog: LISTEN refused; schema changes are noticed without notifications (logged once)",
			zap.String("database", db), zap.Error(err))
	}
}

// markerMoved reports whether a marker read now (m, ok) says the catalog cur may be stale: it
// differs, could not be read, or cur is a session's private read.
func markerMoved(cur *catalogEntry, m string, ok bool) bool {
	return !ok || cur.private || m != cur.marker
}

// notification (server loop) consumes catalog notifications: the catalog is reloaded before the
// next statement. Other channels pass untouched.
func (ss *Session) notification(m *pgproto3.NotificationResponse) pgproto3.BackendMessage {
	if m.Channel != catalogChannel {
		return m
	}
	ss.stale.Store(true)
	ss.sl.log.Debug("catalog: change notified; reloading before the next statement", zap.String("database", ss.info.Database))
	if ss.clientListens.Load() {
		return m
	}
	return nil
}

// noteListen (client loop) follows the client's own LISTEN/UNLISTEN of the catalog channel and
// DISCARD ALL, which share pgseal's registration. It runs after the message was handled, so the
// LISTEN again happens at a later safe point, after the UNLISTEN ran.
func (ss *Session) noteListen(sql string) {
	if !containsFold(sql, "listen") && !containsFold(sql, "discard") {
		return
	}
	switch {
	case containsFold(sql, "unlisten") || containsFold(sql, "discard"):
		if containsFold(sql, "unlisten") && !containsFold(sql, catalogChannel) && !containsFold(sql, "*") {
			return
		}
		if containsFold(sql, "discard") && !containsFold(sql, "all") {
			return
		}
		ss.clientListens.Store(false)
		ss.relisten.Store(true)
	case containsFold(sql, catalogChannel):
		ss.clientListens.Store(true)
	}
}

// relistenIfLost registers again after the client's UNLISTEN or DISCARD ALL, lazily: before the
// session's next statement, at a safe point outside a transaction block (a LISTEN inside the
// client's block would share its fate). It reports whether pgseal is registered (or reads the
// catalog again anyway) now; if not, the caller refuses statements naming a configured table. A
// prepared UNLISTEN executed again later without a Parse is not noticed (a known limit).
//
// While pgseal was not listening, a cut-over's notification may have been missed. So the catalog
// marker (catalog.MarkerQuery) is read in the same round trip, as a Query of its own after the
// LISTEN's: its snapshot is taken after the LISTEN committed, so a change committed later is
// notified and one committed earlier is in the marker. The catalog is reloaded only when the
// marker differs from the one read with cur. A reset in a simple Query outside a block does not
// come here: the LISTEN and marker ride behind it (relisten.go).
func (ss *Session) relistenIfLost(cur *catalogEntry) bool {
	if !ss.relisten.Load() {
		return true
	}
	if ss.relistening.Load() {
		return false // injected behind the reset and not answered yet: a pipelining client
	}
	ss.mu.Lock()
	inBlock := ss.mu.explicit
	ss.mu.Unlock()
	if inBlock {
		return false
	}
	rows, err := ss.info.ExecEach(listenSQL, ss.sl.markerQuery(cur))
	if err != nil && !ss.sl.listenRefused(ss.info, err) {
		return false // not idle or a broken upstream: try again at the next statement
	}
	ss.relisten.Store(false)
	if m, ok := markerOf(rows); err != nil || markerMoved(cur, m, ok) {
		ss.stale.Store(true) // changed (or unknown) meanwhile
	}
	return true
}

// notListening is the refusal of a statement naming a configured table while pgseal's LISTEN is
// lost and cannot be made again yet (requests in flight, or inside a transaction block): a
// cut-over's notification could be missed.
func notListening() *sqlstate.Error {
	return &sqlstate.Error{Code: sqlstate.InternalError, Message: schemaChangedMessage,
		Hint: "pgseal lost its LISTEN pgseal_catalog (UNLISTEN or DISCARD ALL) and listens again at the next statement outside a transaction block and a pipeline. Run the statement again then."}
}

// markerOf returns the catalog marker: the first field of the first row of rows, not NULL
// (MarkerQuery's row has the tree's oids second; FastMarkerQuery's has the marker alone).
func markerOf(rows [][][]byte) (string, bool) {
	if len(rows) == 0 || len(rows[0]) < 1 || len(rows[0]) > 2 || rows[0][0] == nil {
		return "", false
	}
	return string(rows[0][0]), true
}

// markerTree returns the tree's oids of MarkerQuery's row ("" when absent).
func markerTree(rows [][][]byte) string {
	if len(rows) == 0 || len(rows[0]) != 2 || rows[0][1] == nil {
		return ""
	}
	return string(rows[0][1])
}

// markerQuery is the query that checks whether the catalog of ent is still current: the fast
// marker over the tree read with it, else the full marker.
func (sl *Sealer) markerQuery(ent *catalogEntry) string {
	if ent != nil && ent.fastMarkerSQL != "" {
		return ent.fastMarkerSQL
	}
	return sl.markerSQL
}

// containsFold reports whether s contains the lower-case ASCII word sub, ignoring ASCII case,
// without allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
