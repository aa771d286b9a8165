package wire

import (
	"sync"
)

// reqKind is what a pending request is, which decides the responses that finish it.
type reqKind uint8

const (
	reqQuery    reqKind = iota + 1 // simple Query: ends at ReadyForQuery
	reqFunction                    // FunctionCall: ends at ReadyForQuery
	reqSync                        // Sync: ends at ReadyForQuery
	reqParse                       // ParseComplete
	reqBind                        // BindComplete
	reqDescribe                    // [ParameterDescription] RowDescription | NoData
	reqExecute                     // CommandComplete | EmptyQueryResponse | PortalSuspended
	reqClose                       // CloseComplete
)

// endsAtReady reports whether the request is finished only by ReadyForQuery.
func (k reqKind) endsAtReady() bool { return k == reqQuery || k == reqFunction || k == reqSync }

// pending is one FIFO entry: a request sent upstream whose response has not fully arrived.
type pending struct {
	kind    reqKind
	seq     uint64
	plan    Plan        // from the interceptor; handed back with the responses
	refusal *ProxyError // set when the server is made to fail this request on pgseal's behalf
	stmt    *statement  // reqParse: the statement it creates
	portal  string      // reqBind: the name of the portal it creates (its seq is the entry's)
	// copySync: a Sync sent in a COPY's data window, which the server may ignore (state_copy.go).
	copySync bool
	// extended: a reqQuery sent as an extended-protocol sequence (Verdict.ResultFormats), whose
	// ParseComplete, BindComplete, NoData and CloseComplete the client must not see.
	extended bool
}

// statement is a prepared statement by name; portal a bound portal.
type statement struct {
	name string
	plan Plan
}

type portal struct {
	name string
	stmt *statement
	plan Plan   // from the interceptor's verdict on the Bind
	seq  uint64 // the Bind that made it
}

// state is the session's protocol state. The client loop pushes requests in send order; the
// server loop pops them as responses arrive (protocol docs, "Pipelining": responses come back in
// request order). Everything sits behind mu because the two loops run concurrently.
type state struct {
	mu struct {
		sync.Mutex
		fifo             []pending
		head             int
		seq              uint64
		discardUntilSync bool // an extended-protocol error is skipping requests up to Sync
		copyWindow       bool // client loop is in a COPY FROM STDIN's data window (state_copy.go)
		copyIn           bool // and the server has started that COPY
		txStatus         byte // from the last ReadyForQuery: 'I', 'T' or 'E'
		statements       map[string]*statement
		portals          map[string]portal // named portals, by value: a Bind allocates nothing
		unnamed          portal            // the unnamed portal, when hasUnnamed (most clients
		hasUnnamed       bool              // bind only it: no map work per Bind)
		desync           int               // responses that matched no pending request (a bug if ever > 0)
	}
}

func newState() *state {
	s := &state{}
	s.mu.txStatus = 'I'
	s.mu.statements = map[string]*statement{}
	s.mu.portals = map[string]portal{}
	return s
}

// push records a request in send order. Requests sent after an extended-protocol error and before
// the next Sync are dropped: the server skips them and will never answer.
func (s *state) push(p pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushLocked(p)
}

func (s *state) pushLocked(p pending) uint64 {
	if s.mu.discardUntilSync {
		if p.kind != reqSync {
			s.forgetLocked(p)
			return 0
		}
		s.mu.discardUntilSync = false
	}
	s.mu.seq++
	p.seq = s.mu.seq
	if s.mu.head > 0 && s.mu.head == len(s.mu.fifo) {
		s.mu.fifo, s.mu.head = s.mu.fifo[:0], 0
	}
	s.mu.fifo = append(s.mu.fifo, p)
	return p.seq
}

// query records a simple Query, which destroys the unnamed statement and portal (protocol docs,
// "Simple Query"). It returns the request's sequence number, 0 when the server will skip it.
func (s *state) query(plan Plan, refusal *ProxyError) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.statements, "")
	s.deletePortalLocked("")
	return s.pushLocked(pending{kind: reqQuery, plan: plan, refusal: refusal})
}

// queryExtended records a Query to be sent as an extended-protocol sequence (Verdict.ResultFormats)
// and reports true, or reports false and records nothing when the server would not read the
// sequence as it reads a Query: it is skipping messages up to a Sync (it would ignore the Query
// but answer the Sync), or a COPY's data window is open.
func (s *state) queryExtended(plan Plan) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.discardUntilSync || s.mu.copyWindow || s.mu.copyIn {
		return false
	}
	delete(s.mu.statements, "")
	s.deletePortalLocked("")
	s.pushLocked(pending{kind: reqQuery, plan: plan, extended: true})
	return true
}

// refuseLater marks the pending request seq as refused by pgseal after it was sent (a COPY whose
// data pgseal failed with CopyFail): the server's error answering it is swapped for pe. A request
// already answered is left alone.
func (s *state) refuseLater(seq uint64, pe *ProxyError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.mu.head; i < len(s.mu.fifo); i++ {
		if s.mu.fifo[i].seq == seq {
			s.mu.fifo[i].refusal = pe
			return
		}
	}
}

// parse records a Parse. The unnamed statement is replaced even when the Parse fails, as in
// PostgreSQL (exec_parse_message drops it first).
func (s *state) parse(name string, plan Plan, refusal *ProxyError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &statement{name: name, plan: plan}
	if name == "" {
		delete(s.mu.statements, "")
	}
	if refusal == nil {
		if _, exists := s.mu.statements[name]; !exists {
			s.mu.statements[name] = st
		}
	}
	s.pushLocked(pending{kind: reqParse, plan: plan, refusal: refusal, stmt: st})
}

// close records a Close of a statement ('S') or portal ('P').
func (s *state) close(what byte, name string, plan Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if what == 'S' {
		delete(s.mu.statements, name)
	} else {
		s.deletePortalLocked(name)
	}
	s.pushLocked(pending{kind: reqClose, plan: plan})
}

// forgetLocked undoes the name bookkeeping of a request that failed or was skipped.
func (s *state) forgetLocked(p pending) {
	if p.stmt != nil && s.mu.statements[p.stmt.name] == p.stmt {
		delete(s.mu.statements, p.stmt.name)
	}
	if p.kind == reqBind {
		if pt, ok := s.portalLocked(p.portal); ok && pt.seq == p.seq {
			s.deletePortalLocked(p.portal)
		}
	}
}

// headLocked returns the oldest pending request.
func (s *state) headLocked() (*pending, bool) {
	if s.mu.head >= len(s.mu.fifo) {
		return nil, false
	}
	return &s.mu.fifo[s.mu.head], true
}

func (s *state) popLocked() pending {
	p := s.mu.fifo[s.mu.head]
	s.mu.fifo[s.mu.head] = pending{}
	s.mu.head++
	return p
}

// answer accounts for one server message other than ErrorResponse and ReadyForQuery and returns
// the plan of the request it answers (nil for asynchronous messages), and whether the message is
// one of a Query sent as an extended sequence that a Query would not have had (hide it).
func (s *state) answer(typ byte) (Plan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.headLocked()
	if !ok {
		if !isAsync(typ) {
			s.mu.desync++
		}
		return nil, false
	}
	plan := h.plan
	if h.extended {
		switch typ {
		case '1', '2', '3', 'n':
			return plan, true
		}
	}
	want, finishes := finisher(typ, h.kind)
	switch {
	case !finishes:
	case h.kind == want:
		s.popLocked()
	default:
		s.mu.desync++
	}
	return plan, false
}

// finisher says which request kind typ finishes, given the kind at the head of the FIFO.
func finisher(typ byte, head reqKind) (reqKind, bool) {
	switch typ {
	case '1':
		return reqParse, true
	case '2':
		return reqBind, true
	case '3':
		return reqClose, true
	case 'T', 'n': // RowDescription/NoData finish a Describe; inside a simple Query they do not.
		return reqDescribe, head == reqDescribe
	case 'C', 'I', 's': // CommandComplete etc. finish an Execute; a simple Query ends at 'Z'.
		return reqExecute, head == reqExecute
	}
	return 0, false
}

// isAsync reports messages the server may send at any time (protocol docs, "Asynchronous
// Operations").
func isAsync(typ byte) bool { return typ == 'A' || typ == 'N' || typ == 'S' }

// failed accounts for an ErrorResponse (severity ERROR) and returns the request it answers. In the
// extended protocol the server then skips everything up to Sync (protocol docs, "Extended Query"),
// so those requests are dropped; a simple Query, FunctionCall or Sync still ends at ReadyForQuery.
func (s *state) failed() (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.headLocked()
	if !ok {
		return pending{}, false
	}
	if h.kind.endsAtReady() {
		return *h, true
	}
	first := s.popLocked()
	s.forgetLocked(first)
	for {
		h, ok := s.headLocked()
		if !ok {
			s.mu.discardUntilSync = true
			break
		}
		if h.kind == reqSync {
			break
		}
		s.forgetLocked(s.popLocked())
	}
	return first, true
}

// ready accounts for ReadyForQuery: it finishes the oldest Query, FunctionCall or Sync, records
// the transaction status and, outside a transaction, forgets the portals made before it
// (portals live until the end of their transaction).
func (s *state) ready(txStatus byte) Plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.txStatus = txStatus
	var plan Plan
	var seq uint64
	for {
		if _, ok := s.headLocked(); !ok {
			s.mu.desync++
			return plan
		}
		p := s.popLocked()
		if p.kind.endsAtReady() {
			plan, seq = p.plan, p.seq
			break
		}
		s.mu.desync++ // a request the server never answered: should not happen
	}
	if txStatus == 'I' {
		if s.mu.hasUnnamed && s.mu.unnamed.seq < seq {
			s.deletePortalLocked("")
		}
		if len(s.mu.portals) > 0 { // no map iteration set-up for most clients
			for name, pt := range s.mu.portals {
				if pt.seq < seq {
					delete(s.mu.portals, name)
				}
			}
		}
	}
	return plan
}

// pendingCount is the number of requests awaiting responses.
func (s *state) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.fifo) - s.mu.head
}

// headPlan returns the plan of the oldest pending request, for messages that belong to it.
func (s *state) headPlan() Plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.headLocked(); ok {
		return h.plan
	}
	return nil
}

// TxStatus is the transaction status of the last ReadyForQuery.
func (s *state) TxStatus() byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.txStatus
}

// setTxStatus records the status of a ReadyForQuery that answers no request (the first one).
func (s *state) setTxStatus(txStatus byte) {
	s.mu.Lock()
	s.mu.txStatus = txStatus
	s.mu.Unlock()
}

// statementPlan returns the plan of a prepared statement the session knows.
func (s *state) statementPlan(name string) (Plan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.mu.statements[name]
	if !ok {
		return nil, false
	}
	return st.plan, true
}

// forgetStatements drops one prepared statement, or all (DEALLOCATE ALL, DISCARD ALL).
func (s *state) forgetStatements(all bool, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if all {
		clear(s.mu.statements)
		return
	}
	delete(s.mu.statements, name)
}

// idle reports a safe point to inject a query: nothing in flight and no extended-protocol error
// waiting for its Sync (the server would ignore the query until then).
func (s *state) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.fifo) == s.mu.head && !s.mu.discardUntilSync
}
