package wire

import (
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"
)

// serverLoop forwards server messages in order, popping the FIFO as responses finish requests. It
// flushes to the client only when no more server output is buffered: one write per batch of rows.
func (s *session) serverLoop() error {
	var reported int64
	for {
		typ, err := s.sr.next()
		if err != nil {
			return s.serverReadErr(err)
		}
		if err := s.serverMessage(typ); err != nil {
			return err
		}
		if s.sr.idle() {
			if err := s.flushClient(); err != nil {
				return err
			}
			s.srv.m.BytesOut.Add(float64(s.sr.bytes - reported))
			reported = s.sr.bytes
		}
	}
}

func (s *session) serverMessage(typ byte) error {
	if s.internal.Load() != nil {
		return s.internalMessage(typ)
	}
	switch typ {
	case 'D', 'd':
		// The hot path: DataRow and CopyData change no state and belong to the head request.
		if s.icpt == nil || !s.stypes.Has(typ) {
			return s.runToClient()
		}
		plan := s.st.headPlan()
		if plan == nil {
			return s.runToClient()
		}
		if rr, ok := s.icpt.(RowsResponder); ok && typ == 'D' {
			if done, err := s.interceptRows(rr, plan); done {
				return err
			}
		}
		return s.intercept(typ, plan)
	case 'E':
		return s.serverErrorResponse()
	case 'Z':
		return s.readyForQuery(false)
	case 'G', 'H':
		s.srv.copy.Inc()
		if typ == 'G' {
			s.syncsIgnored(s.st.copyInStarted())
		}
	}
	var plan Plan
	if !isAsync(typ) {
		var hide bool
		if plan, hide = s.st.answer(typ); hide {
			return s.serverSideSkip()
		}
	}
	if s.icpt != nil && s.stypes.Has(typ) {
		return s.intercept(typ, plan)
	}
	return s.toClient()
}

// readyForQuery records the transaction status and finishes the oldest Query, FunctionCall or Sync.
// The first ReadyForQuery after authentication answers no request.
func (s *session) readyForQuery(first bool) error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	if len(body) != 1 {
		return fatal(CodeProtocolViolation, "invalid ReadyForQuery from the server")
	}
	var plan Plan
	if first {
		s.st.setTxStatus(body[0])
	} else {
		plan = s.st.ready(body[0])
	}
	s.skipToReady = false
	defer s.sr.shrink()
	if s.icpt != nil && s.stypes.Has('Z') {
		return s.intercept('Z', plan)
	}
	return s.toClient()
}

// serverErrorResponse relays an ErrorResponse. A FATAL ends the session after it. An ERROR that
// answers a refused request is replaced by pgseal's error (see refuse.go).
func (s *session) serverErrorResponse() error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	var er pgproto3.ErrorResponse
	if err := er.Decode(body); err != nil {
		return fatal(CodeProtocolViolation, "invalid ErrorResponse from the server")
	}
	sev := er.SeverityUnlocalized
	if sev == "" {
		sev = er.Severity
	}
	if sev == "FATAL" || sev == "PANIC" {
		s.serverFatal = true
		return s.clientSideErr(s.sr.forward(s.cw))
	}
	p, _ := s.st.failed()
	if p.refusal != nil && er.Code != CodeInFailedSQLTransaction {
		s.srv.m.Refusals.WithLabelValues(p.refusal.Code).Inc()
		s.srv.log.Info("statement refused", zap.String("remote", s.remote), zap.String("user", s.info.User),
			zap.String("sqlstate", p.refusal.Code))
		return s.sendClient(p.refusal.ErrorResponse())
	}
	if s.icpt != nil && s.stypes.Has('E') {
		return s.intercept('E', p.plan)
	}
	return s.toClient()
}

// intercept decodes a server message for the interceptor and sends what it returns. A failure ends
// the session: a message that cannot be handled is never forwarded as is.
func (s *session) intercept(typ byte, plan Plan) error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	var msg pgproto3.BackendMessage
	if typ == 'D' {
		// The hot path: one DataRow value per session, its slice reused row after row.
		err, msg = s.rowBuf.Decode(body), &s.rowBuf
	} else {
		msg, err = decodeBackend(typ, body, &s.bmsgs)
	}
	if err != nil {
		return fatal(CodeProtocolViolation, "invalid message %q from the server", typ)
	}
	out, err := s.icpt.Response(plan, msg)
	return s.deliver(out, out == msg, err)
}

// deliver sends an interceptor's answer to the current server message: out (nil for nothing),
// or the message unchanged when same. SkipToReady and errors are handled as Response documents.
func (s *session) deliver(out pgproto3.BackendMessage, same bool, err error) error {
	if errors.Is(err, SkipToReady) {
		err = nil
		if out != nil {
			if serr := s.sendClient(out); serr != nil {
				return serr
			}
		}
		out, same, s.skipToReady = nil, false, true
	}
	if err != nil {
		if pe, ok := asProxyError(err); ok {
			pe2 := *pe
			pe2.Severity = SeverityFatal
			return &pe2
		}
		s.srv.log.Error("interceptor failed", zap.String("remote", s.remote), zap.Error(err))
		return fatal(CodeInternalError, "internal error in pgseal")
	}
	switch {
	case same:
		return s.toClient()
	case out == nil:
		return nil // the interceptor's own request: the client never asked
	}
	return s.sendClient(out)
}

// rowBodies pools the slices that hold a run's bodies (the run is handled within one call).
var rowBodies = sync.Pool{New: func() any { return new([][]byte) }}

// interceptRows hands the run of complete DataRows already buffered from the server (the current
// one first) to rr at once, then consumes them one by one, sending the answers in order. It
// reports false, having consumed nothing, when the run is too short to be worth a batch.
func (s *session) interceptRows(rr RowsResponder, plan Plan) (bool, error) {
	bp := rowBodies.Get().(*[][]byte)
	defer func() {
		clear(*bp) // no references into the read buffer stay in the pool
		rowBodies.Put(bp)
	}()
	*bp = s.sr.peekRun((*bp)[:0], maxRowBatch)
	if len(*bp) >= growRowRun {
		if s.sr.small == nil {
			s.sr.grow(rowReadBufSize)
			*bp = s.sr.peekRun((*bp)[:0], maxRowBatch)
		}
		s.cw.grow(rowReadBufSize)
	}
	if len(*bp) < minRowBatch {
		return false, nil
	}
	answers := rr.ResponseRows(plan, *bp)
	defer rr.RowsSent()
	for i, a := range answers {
		if i > 0 {
			if _, err := s.sr.next(); err != nil { // buffered: the header is only parsed again
				return true, s.serverReadErr(err)
			}
		}
		if _, err := s.sr.load(); err != nil {
			return true, s.serverReadErr(err)
		}
		if a.Err == ErrInvalidRow {
			return true, fatal(CodeProtocolViolation, "invalid message %q from the server", 'D')
		}
		if err := s.deliver(a.Msg, a.Raw, a.Err); err != nil {
			return true, err
		}
	}
	return true, nil
}

// toClient forwards the current server message unchanged, unless an error replaced the rest of
// the response (skipToReady, asynchronous messages excepted).
func (s *session) toClient() error {
	if s.skipToReady && !isAsync(s.sr.typ) {
		return s.serverSideSkip()
	}
	return s.clientSideErr(s.sr.forward(s.cw))
}

// runToClient forwards the current DataRow or CopyData and those of the same type buffered after
// it (forwardRun): they change no state and belong to the same request, so when nobody decodes
// the first, nobody decodes the rest.
func (s *session) runToClient() error {
	if s.skipToReady {
		return s.serverSideSkip()
	}
	return s.clientSideErr(s.sr.forwardRun(s.cw))
}

// sendClient sends a message in place of the current server message, unless skipping.
func (s *session) sendClient(m encoder) error {
	if s.skipToReady && !isAsync(s.sr.typ) {
		return s.serverSideSkip()
	}
	return s.clientSideErr(s.cw.send(m))
}

func (s *session) serverSideSkip() error {
	if err := s.sr.skip(); err != nil {
		return s.serverReadErr(err)
	}
	return nil
}

// backendMsgs holds the server messages answering most requests, decoded into the same structs
// message after message (as frontendMsgs).
type backendMsgs struct {
	rowDesc  pgproto3.RowDescription
	complete pgproto3.CommandComplete
	ready    pgproto3.ReadyForQuery
}

// decodeBackend decodes the server messages an interceptor may see, into reuse's structs for the
// most frequent ones.
func decodeBackend(typ byte, body []byte, reuse *backendMsgs) (pgproto3.BackendMessage, error) {
	var m interface {
		pgproto3.BackendMessage
		Decode([]byte) error
	}
	switch typ {
	case 't':
		m = &pgproto3.ParameterDescription{}
	case 'T':
		m = &reuse.rowDesc
	case 'D':
		m = &pgproto3.DataRow{}
	case 'C':
		m = &reuse.complete
	case 'E':
		m = &pgproto3.ErrorResponse{}
	case 'Z':
		m = &reuse.ready
	case 'G':
		m = &pgproto3.CopyInResponse{}
	case 'H':
		m = &pgproto3.CopyOutResponse{}
	case 'd':
		m = &pgproto3.CopyData{}
	case 'c':
		m = &pgproto3.CopyDone{}
	case 'n':
		m = &pgproto3.NoData{}
	case 'I':
		m = &pgproto3.EmptyQueryResponse{}
	case 's':
		m = &pgproto3.PortalSuspended{}
	case '1':
		m = &pgproto3.ParseComplete{}
	case '2':
		m = &pgproto3.BindComplete{}
	case '3':
		m = &pgproto3.CloseComplete{}
	case 'N':
		m = &pgproto3.NoticeResponse{}
	case 'A':
		m = &pgproto3.NotificationResponse{}
	case 'S':
		m = &pgproto3.ParameterStatus{}
	default:
		return nil, errBadLength
	}
	return m, m.Decode(body)
}
