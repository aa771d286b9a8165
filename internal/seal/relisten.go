package seal

import (
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/wire"
)

// Re-LISTEN without a round trip. A pool that runs DISCARD ALL (or UNLISTEN *) at every release
// drops pgseal's LISTEN pgseal_catalog each time (notify.go). When that statement comes in a
// simple Query that leaves the session outside a transaction block, pgseal sends LISTEN and then
// the catalog marker as two Queries of its own right behind it, in the same write, and holds the
// client's ReadyForQuery until both are answered: the reset's own round trip carries them, and
// the client's next statement is analysed knowing whether a cut-over slipped through meanwhile.
// Two Queries, not one: the marker's snapshot must be taken after the LISTEN committed (see
// relistenIfLost). Anything else (the extended protocol, a block, a pipelining client that sends
// before the ReadyForQuery) falls back to relistenIfLost at the next statement.

// relisten is one injected re-LISTEN.
type relisten struct {
	held      *pgproto3.ReadyForQuery // the client's, sent once the marker is in
	listened  bool
	marker    string
	gotMarker bool
}

// relistenPlan is the wire.Plan of the injected LISTEN (marker false) and marker Query.
type relistenPlan struct {
	marker bool
	r      *relisten
}

// injectRelisten (client loop, after noteListen) adds the LISTEN and the marker behind a Query
// that dropped pgseal's registration, when nothing stands in the way.
func (ss *Session) injectRelisten(v *wire.Verdict) {
	if !ss.relisten.Load() || ss.relistening.Load() || v.Refuse != nil || v.CopyIn != nil {
		return
	}
	ss.mu.Lock()
	explicit := ss.mu.explicit
	ss.mu.Unlock()
	qp, _ := v.Plan.(*queryPlan)
	if explicit || (qp == nil && v.Plan != nil) {
		return
	}
	if qp == nil {
		qp = &queryPlan{}
		v.Plan = qp
	}
	r := &relisten{}
	qp.hold = r
	ss.relistening.Store(true)
	v.After = []wire.Extra{
		{Msg: &pgproto3.Query{String: listenSQL}, Plan: &relistenPlan{r: r}},
		{Msg: &pgproto3.Query{String: ss.sl.markerQuery(ss.currentCatalog())}, Plan: &relistenPlan{marker: true, r: r}},
	}
}

// relistenResponse (server loop) consumes the answers to the injected Queries; the client sees
// none of them, and gets its held ReadyForQuery with the marker's.
func (ss *Session) relistenResponse(rp *relistenPlan, msg pgproto3.BackendMessage) pgproto3.BackendMessage {
	switch m := msg.(type) {
	case *pgproto3.CommandComplete:
		rp.r.listened = rp.r.listened || !rp.marker
	case *pgproto3.DataRow:
		if rp.marker && len(m.Values) == 1 && m.Values[0] != nil {
			rp.r.marker, rp.r.gotMarker = string(m.Values[0]), true
		}
	case *pgproto3.ReadyForQuery:
		if rp.marker {
			return ss.relistened(rp.r)
		}
	}
	return nil
}

// relistened settles an injected re-LISTEN and releases the client's ReadyForQuery.
func (ss *Session) relistened(r *relisten) pgproto3.BackendMessage {
	cur := ss.currentCatalog()
	if r.held == nil || r.held.TxStatus != 'I' {
		// The client's Query left a block after all: the LISTEN ran inside it. Again, lazily.
		ss.stale.Store(true)
	} else {
		if !r.listened {
			// A server that refuses LISTEN (a hot standby): go on without notifications, as
			// listen does.
			ss.sl.warnListenRefused(ss.info.Database, nil)
		}
		ss.relisten.Store(false)
		if markerMoved(cur, r.marker, r.gotMarker) {
			ss.stale.Store(true) // changed (or unknown) while pgseal was not listening
		}
	}
	ss.relistening.Store(false)
	if r.held == nil {
		return nil
	}
	return r.held
}
