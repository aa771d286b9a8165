package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"
)

// pastDeadline unblocks every pending read and write on a conn.
var pastDeadline = time.Unix(1, 0)

// session is one client connection and the upstream connection it owns. Its phases run in order on
// the session goroutine (startup, admit, connect, authenticate, relay); only relay adds two loop
// goroutines, which it waits for.
type session struct {
	srv    *Server
	ctx    context.Context // cancelled with a cause (errShutdown) to kill the session
	cancel context.CancelCauseFunc
	start  time.Time
	remote string

	clientRaw net.Conn // the TCP conn; deadlines go here
	client    net.Conn // clientRaw or the TLS conn over it
	cr        *msgReader
	cw        *msgWriter

	server net.Conn // nil until connect; the session owns it from then on
	sr     *msgReader
	sw     *msgWriter

	info     SessionInfo
	startup  []byte // the StartupMessage as the client sent it, forwarded verbatim
	admitted bool   // counted against max_connections
	key      backendKey
	upKey    backendKey
	hasKey   bool

	st          *state
	icpt        SessionInterceptor
	execCaller  ExecCaller // icpt, when its Request may wait for Exec (looppark_linux.go)
	ctypes      TypeSet
	stypes      TypeSet
	serverFatal bool // the server sent a FATAL itself: do not add ours
	// terminated is set by the client loop before it forwards Terminate: the server closing its
	// end after that is the client's doing, not a lost upstream (no 08006 for the client).
	terminated  atomic.Bool
	quiet       bool // a CancelRequest or probe: log at debug
	drainClient bool // the client may still be sending: read before closing so it sees our FATAL

	scramPlusKept bool // SCRAM-SHA-256-PLUS was left in the server's offer (same certificate on both legs)

	// Interceptor support (seal_exec.go): queries of pgseal's own on the upstream, and dropping
	// the rest of a response after an error that replaced it.
	relaying    bool                          // relay loops running: Exec goes through the FIFO
	internal    atomic.Pointer[internalQuery] // in flight; the server loop collects its answer
	skipToReady bool                          // server loop only: drop messages up to ReadyForQuery
	rowBuf      pgproto3.DataRow              // server loop only: DataRows decoded for the interceptor
	fmsgs       frontendMsgs                  // client loop only: frequent messages decoded for it
	bmsgs       backendMsgs                   // server loop only: frequent messages decoded for it
	stopped     chan struct{}                 // closed by interrupt
	stoppedOnce sync.Once

	// COPY FROM STDIN through an interceptor's CopyIn (client loop only, copyin.go).
	copyIn   CopyIn
	copySeq  uint64 // the Query's FIFO entry
	copyDrop bool   // the COPY was failed by pgseal: drop the client's remaining copy data

	fastPending int // requests unanswered when a fast relay ended (fastrelay.go)

	mu struct {
		sync.Mutex
		conns []net.Conn // interrupted on kill
	}
	stopOnce sync.Once
	unwatch  func() bool // stops interrupting on kill
	onEnd    func()      // the server forgets the session (Server.start)
}

func newSession(srv *Server, c net.Conn) *session {
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &session{srv: srv, ctx: ctx, cancel: cancel, start: time.Now(), remote: c.RemoteAddr().String(),
		clientRaw: c, client: c, st: newState(), stopped: make(chan struct{})}
	s.cr = newMsgReader(c, int(srv.cfg.Server.MaxMessageSize))
	s.cw = newMsgWriter(c)
	s.mu.conns = []net.Conn{c}
	s.info.RemoteAddr = s.remote
	return s
}

// kill ends the session from outside (shutdown); safe to call at any time, more than once.
func (s *session) kill(cause error) { s.cancel(cause) }

// interrupt unblocks every read and write of the session's conns. Idempotent.
func (s *session) interrupt() {
	s.stoppedOnce.Do(func() { close(s.stopped) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.mu.conns {
		_ = c.SetDeadline(pastDeadline)
	}
}

// track adds an upstream conn to those kill interrupts; it fails once the session is killed.
func (s *session) track(c net.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return context.Cause(s.ctx)
	}
	s.mu.conns = append(s.mu.conns, c)
	return nil
}

// setDeadline sets c's deadline unless the session was killed, when it keeps the past deadline.
func (s *session) setDeadline(c net.Conn, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		t = pastDeadline
	}
	_ = c.SetDeadline(t)
}

// run is the session goroutine's body. A session handed to an event loop ends this goroutine
// (errOnLoop); the loop calls end when the session is over.
func (s *session) run() {
	s.unwatch = context.AfterFunc(s.ctx, s.interrupt)
	s.srv.m.ConnectionsTotal.Inc()
	s.srv.m.ConnectionsActive.Inc()
	if err := s.serve(); err != errOnLoop {
		s.end(err)
	}
}

// errOnLoop is the relay's answer when an event loop took the session: nothing is over yet.
var errOnLoop = errors.New("session on an event loop")

// end ends the session: the final FATAL if due, the conns closed, the end logged, and the
// server's count of sessions (onEnd) released.
func (s *session) end(err error) {
	s.unwatch()
	s.finish(err)
	s.cancel(nil)
	s.srv.m.ConnectionsActive.Dec()
	if s.onEnd != nil {
		s.onEnd()
	}
}

func (s *session) serve() error {
	for _, phase := range []func() error{s.readStartup, s.admit, s.connect, s.authenticate, s.relay} {
		if err := phase(); err != nil {
			return err
		}
	}
	return nil
}

// admit applies max_connections before anything is dialled, like PostgreSQL's "sorry, too many
// clients already" (postmaster.c).
func (s *session) admit() error {
	if n := s.srv.active.Add(1); n > int64(s.srv.cfg.Server.MaxConnections) {
		s.srv.active.Add(-1)
		s.srv.m.ConnectionsRefused.WithLabelValues("max_connections").Inc()
		return fatal(CodeTooManyConnections, "sorry, too many clients already")
	}
	s.admitted = true
	return nil
}

// finish sends the client a final FATAL when one is due and possible, cancels an abandoned query,
// closes both conns and logs the session's one end line.
func (s *session) finish(err error) {
	if context.Cause(s.ctx) == errShutdown {
		err = fatal(CodeAdminShutdown, "terminating connection due to administrator command")
	}
	var lost *upstreamLost
	if errors.As(err, &lost) && !s.serverFatal {
		err = fmt.Errorf("%w: %w", fatal(CodeConnectionFailure, "server closed the connection unexpectedly"), lost)
	}
	if pe, ok := asProxyError(err); ok && pe.Severity == SeverityFatal && s.cw.clean() {
		_ = s.clientRaw.SetWriteDeadline(time.Now().Add(time.Second))
		if s.cw.send(pe.ErrorResponse()) == nil && s.cw.flush() == nil && s.drainClient {
			s.lingerClient()
		}
	}
	if s.hasKey && clientVanished(err) && (s.st.pendingCount() > 0 || s.fastPending > 0) {
		// PostgreSQL notices a vanished client only when it next writes; cancel the query so an
		// abandoned pg_sleep or long scan stops now.
		ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.Upstream.ConnectTimeout.D())
		_ = s.srv.cancelUpstream(ctx, s.upKey)
		cancel()
	}
	if s.server != nil {
		_ = s.server.Close()
	}
	_ = s.client.Close()
	if s.hasKey {
		s.srv.keys.remove(s.key)
	}
	if s.admitted {
		s.srv.active.Add(-1)
	}
	s.logEnd(err)
}

// lingerClient half-closes the client TCP conn and discards what it still sends, for a bounded
// time and amount, so that closing does not reset the connection before the client has read our
// FATAL (a client blocked writing an oversized message would otherwise see only "connection reset").
func (s *session) lingerClient() {
	tc, ok := s.clientRaw.(*net.TCPConn)
	if !ok || s.info.TLS {
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, tc, 2*int64(s.srv.cfg.Server.MaxMessageSize))
}

// clientVanished reports a client that went away without Terminate.
func clientVanished(err error) bool {
	var ce *clientError
	return errors.As(err, &ce) && !errors.Is(err, errClientTerminated)
}

// clientError marks errors from reading or writing the client side.
type clientError struct{ err error }

func (e *clientError) Error() string { return "client: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

// serverError marks errors from reading or writing the upstream side.
type serverError struct{ err error }

func (e *serverError) Error() string { return "upstream: " + e.err.Error() }
func (e *serverError) Unwrap() error { return e.err }

func (s *session) logEnd(err error) {
	reason := "closed"
	switch {
	case err == nil, errors.Is(err, errClientTerminated):
		reason = "client terminated"
	case errors.Is(err, io.EOF):
		reason = "peer closed"
	case errors.Is(err, os.ErrDeadlineExceeded) && !s.admitted && s.server == nil:
		reason = "startup timeout"
	default:
		reason = err.Error()
	}
	fields := []zap.Field{
		zap.String("remote", s.remote), zap.String("user", s.info.User), zap.String("database", s.info.Database),
		zap.Duration("duration", time.Since(s.start)), zap.Int64("bytes_in", s.cr.bytes), zap.Int64("bytes_out", s.bytesOut()),
		zap.String("reason", reason),
	}
	if pe, ok := asProxyError(err); ok {
		fields = append(fields, zap.String("sqlstate", pe.Code))
	}
	if s.quiet {
		s.srv.log.Debug("connection end", fields...)
		return
	}
	s.srv.log.Info("connection end", fields...)
}

func (s *session) bytesOut() int64 {
	if s.sr == nil {
		return 0
	}
	return s.sr.bytes
}
