package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/metrics"
)

// Options configure a Server. Nil fields take their defaults.
type Options struct {
	Config  *config.Config
	Logger  *zap.Logger      // nil = zap.NewNop()
	Metrics *metrics.Metrics // nil = metrics.New()
	// Dial connects to the upstream; nil = a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Interceptor is the seam for encryption (internal/seal, built by cmd/proxy); nil = a pure
	// relay.
	Interceptor Interceptor

	// GoroutineRelay keeps every session off the event loop, on the goroutine relay that TLS
	// sessions always use: the tests of both relays set it.
	GoroutineRelay bool
}

// Server accepts PostgreSQL clients and relays each to its own upstream connection.
type Server struct {
	cfg    *config.Config
	log    *zap.Logger
	m      *metrics.Metrics
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	icpt   Interceptor
	tls    *tls.Config      // client leg; nil = answer SSLRequest with 'N'
	upTLS  *tls.Config      // upstream leg; nil = tls "disable"
	upCert *tls.Certificate // pgseal's client certificate upstream (clientcert.go); nil = none
	keys   *cancelMap
	active atomic.Int64 // admitted sessions, for max_connections

	kind map[reqKind]prometheus.Counter // statements by kind, resolved once
	copy prometheus.Counter

	loops       fastLoops    // event loops of the fast relay (fastrelay.go)
	fastEnabled bool         // tests turn the fast relay off to cover the goroutine relay
	fastUsed    atomic.Int64 // sessions relayed by a loop, for tests
	fastPaused  atomic.Int64 // writes a peer did not take at once (backpressure), for tests

	wg sync.WaitGroup // every session goroutine
	mu struct {
		sync.Mutex
		sessions map[*session]struct{}
	}
}

// NewServer checks the configuration and loads TLS material. Errors are one-line reasons.
func NewServer(o Options) (*Server, error) {
	if o.Config == nil {
		return nil, errors.New("wire: no configuration")
	}
	srv := &Server{cfg: o.Config, log: o.Logger, m: o.Metrics, dial: o.Dial, icpt: o.Interceptor, keys: newCancelMap()}
	if srv.log == nil {
		srv.log = zap.NewNop()
	}
	if srv.m == nil {
		srv.m = metrics.New()
	}
	if srv.dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		srv.dial = d.DialContext
	}
	s := o.Config.Server
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile != "":
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls_cert_file/tls_key_file: %w", err)
		}
		srv.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case s.TLSCertFile != "" || s.TLSKeyFile != "":
		return nil, errors.New("server.tls_cert_file and server.tls_key_file must be set together")
	}
	if err := clientCAs(srv.tls, s); err != nil {
		return nil, err
	}
	up, err := upstreamTLS(o.Config.Upstream)
	if err != nil {
		return nil, err
	}
	srv.upTLS = up
	if srv.upCert, err = upstreamCert(o.Config.Upstream); err != nil {
		return nil, err
	}
	if s.MaxMessageSize <= 0 || s.StartupTimeout <= 0 || o.Config.Upstream.ConnectTimeout <= 0 {
		return nil, errors.New("wire: max_message_size, startup_timeout and connect_timeout must be positive")
	}
	srv.kind = map[reqKind]prometheus.Counter{}
	for k, name := range map[reqKind]string{reqQuery: "simple", reqParse: "parse", reqBind: "bind", reqExecute: "execute", reqFunction: "function"} {
		srv.kind[k] = srv.m.Statements.WithLabelValues(name)
	}
	srv.copy = srv.m.Statements.WithLabelValues("copy")
	srv.mu.sessions = map[*session]struct{}{}
	srv.fastEnabled = !o.GoroutineRelay
	return srv, nil
}

// Serve accepts on ln until ctx is done; then it stops accepting, lets sessions finish within
// shutdown_timeout, closes the rest with FATAL 57P01 and returns after every session goroutine has
// ended. It closes ln. The error is nil after ctx is done, else the accept error.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	srv.loops.serving(1)
	defer srv.loops.serving(-1) // after drain: every session has ended
	var err error
	backoff := 5 * time.Millisecond
	for {
		c, aerr := ln.Accept()
		if aerr == nil {
			backoff = 5 * time.Millisecond
			srv.start(c)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		var ne net.Error
		if errors.As(aerr, &ne) && ne.Timeout() || isTemporary(aerr) {
			// Out of file descriptors and the like: back off as net/http does, without spinning.
			srv.log.Warn("accept failed; retrying", zap.Error(aerr), zap.Duration("backoff", backoff))
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			backoff = min(2*backoff, time.Second)
			continue
		}
		err = fmt.Errorf("accept: %w", aerr)
		break
	}
	_ = ln.Close()
	srv.drain()
	return err
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// start runs a session for c on its own goroutine (then maybe on an event loop), owned by srv.wg.
func (srv *Server) start(c net.Conn) {
	s := newSession(srv, c)
	srv.mu.Lock()
	srv.mu.sessions[s] = struct{}{}
	srv.mu.Unlock()
	srv.wg.Add(1)
	s.onEnd = func() {
		srv.mu.Lock()
		delete(srv.mu.sessions, s)
		srv.mu.Unlock()
		srv.wg.Done()
	}
	go s.run()
}

// drain waits for sessions to end for up to shutdown_timeout, then ends the rest with 57P01.
func (srv *Server) drain() {
	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	t := time.NewTimer(srv.cfg.Server.ShutdownTimeout.D())
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	srv.mu.Lock()
	n := len(srv.mu.sessions)
	for s := range srv.mu.sessions {
		s.kill(errShutdown)
	}
	srv.mu.Unlock()
	srv.log.Info("shutdown timeout: closing sessions", zap.Int("sessions", n))
	<-done
}

// CheckUpstream reports whether the upstream accepts a TCP connection (and the TLS handshake
// upstream.tls asks for), without a StartupMessage: PostgreSQL then logs nothing worse than an
// incomplete startup packet and no backend is started.
func (srv *Server) CheckUpstream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, srv.cfg.Upstream.ConnectTimeout.D())
	defer cancel()
	conn, err := srv.connectUpstreamRaw(ctx, srv.upTLS)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", srv.cfg.Upstream.Address, err)
	}
	return conn.Close()
}

// ActiveSessions is the number of sessions past startup (what max_connections counts).
func (srv *Server) ActiveSessions() int { return int(srv.active.Load()) }
