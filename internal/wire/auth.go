package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"
)

const (
	// maxAuthRoundTrips caps the authentication exchange; SCRAM needs 3 server messages.
	maxAuthRoundTrips = 16
	// maxAuthMessage is PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH for password and SASL messages.
	maxAuthMessage = 65535
	scramPlus      = "SCRAM-SHA-256-PLUS"
)

// connect dials the upstream (after a valid StartupMessage only) and sends the client's
// StartupMessage verbatim.
func (s *session) connect() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.cfg.Upstream.ConnectTimeout.D())
	defer cancel()
	conn, err := s.srv.connectUpstream(ctx, s.srv.upstreamTLSFor(s.certUser(s.info.User)))
	if err != nil {
		if context.Cause(s.ctx) == errShutdown {
			return errShutdown
		}
		s.srv.log.Warn("upstream connect failed", zap.String("remote", s.remote), zap.Error(err))
		return fatal(CodeUnableToConnect, "pgseal could not connect to the database server")
	}
	s.server = conn
	if err := s.track(conn); err != nil {
		return err
	}
	s.setDeadline(conn, time.Now().Add(s.srv.cfg.Server.StartupTimeout.D()))
	s.sr = newMsgReader(conn, int(s.srv.cfg.Server.MaxMessageSize))
	s.sw = newMsgWriter(conn)
	if err := s.sw.write(s.startup); err != nil {
		return &serverError{err}
	}
	if err := s.sw.flush(); err != nil {
		return &serverError{err}
	}
	return nil
}

// authenticate relays the server's authentication exchange message by message (protocol docs,
// "Start-up"), then the ParameterStatus/BackendKeyData burst up to the first ReadyForQuery.
func (s *session) authenticate() error {
	awaiting := uint32(0) // the auth request the client's next 'p' message answers
	for round := 0; ; round++ {
		if round > maxAuthRoundTrips {
			return fatal(CodeProtocolViolation, "too many authentication round trips")
		}
		typ, err := s.sr.next()
		if err != nil {
			return s.serverReadErr(err)
		}
		switch typ {
		case 'R':
			ok, err := s.authRequest(&awaiting)
			if err != nil {
				return err
			}
			if ok {
				return s.afterAuth()
			}
		case 'E':
			return s.relayServerError()
		case 'v', 'N': // NegotiateProtocolVersion, notices: pass on
			if err := s.sr.forward(s.cw); err != nil {
				return s.clientSideErr(err)
			}
		default:
			return fatal(CodeProtocolViolation, "unexpected message %q from the server during authentication", typ)
		}
		if awaiting != 0 {
			if err := s.flushClient(); err != nil {
				return err
			}
			if err := s.relayAuthResponse(awaiting); err != nil {
				return err
			}
			awaiting = 0
		}
	}
}

// authRequest forwards one Authentication message. It reports true on AuthenticationOk and sets
// *awaiting when the client must answer.
func (s *session) authRequest(awaiting *uint32) (bool, error) {
	body, err := s.sr.load()
	if err != nil {
		return false, s.serverReadErr(err)
	}
	if len(body) < 4 {
		return false, fatal(CodeProtocolViolation, "invalid authentication message from the server")
	}
	switch at := binary.BigEndian.Uint32(body); at {
	case pgproto3.AuthTypeOk:
		return true, s.sr.forward(s.cw)
	case pgproto3.AuthTypeCleartextPassword, pgproto3.AuthTypeMD5Password, pgproto3.AuthTypeSASLContinue:
		*awaiting = at
		return false, s.sr.forward(s.cw)
	case pgproto3.AuthTypeSASLFinal:
		return false, s.sr.forward(s.cw)
	case pgproto3.AuthTypeSASL:
		*awaiting = at
		return false, s.offerSASL(body)
	default:
		return false, fatal(CodeInvalidAuthorization, "authentication method %d requested by the server is not supported by pgseal", at)
	}
}

// offerSASL forwards the server's SASL mechanisms, without SCRAM-SHA-256-PLUS unless channel
// binding can cross pgseal. Channel binding ties the exchange to the TLS connection it runs on
// (tls-server-end-point: a hash of the server's certificate), and pgseal terminates TLS: a client
// that chose PLUS would bind to pgseal's certificate and the server would refuse the binding. When
// pgseal presents the very certificate the server does, both hashes are the same and PLUS passes
// through untouched.
func (s *session) offerSASL(body []byte) error {
	var msg pgproto3.AuthenticationSASL
	if err := msg.Decode(body); err != nil {
		return fatal(CodeProtocolViolation, "invalid SASL authentication request from the server")
	}
	if s.scramPlusKept = s.sameCertificateBothLegs(); !s.scramPlusKept {
		msg.AuthMechanisms = slices.DeleteFunc(msg.AuthMechanisms, func(m string) bool { return m == scramPlus })
	}
	if len(msg.AuthMechanisms) == 0 {
		return fatal(CodeInvalidAuthorization, "the server offers only SCRAM-SHA-256-PLUS, which cannot cross pgseal")
	}
	return s.cw.send(&msg)
}

// sameCertificateBothLegs reports whether the client reached pgseal over TLS, pgseal reached the
// server over TLS, and the server's certificate is the one pgseal presented to the client.
func (s *session) sameCertificateBothLegs() bool {
	up, ok := s.server.(interface{ ConnectionState() tls.ConnectionState })
	if !s.info.TLS || !ok || s.srv.tls == nil || len(s.srv.tls.Certificates) == 0 {
		return false
	}
	peer := up.ConnectionState().PeerCertificates
	mine := s.srv.tls.Certificates[0].Certificate
	return len(peer) > 0 && len(mine) > 0 && bytes.Equal(peer[0].Raw, mine[0])
}

// relayAuthResponse forwards the client's answer (PasswordMessage, SASLInitialResponse or
// SASLResponse: all type 'p', told apart by the request they answer, as pgproto3's SetAuthType does).
func (s *session) relayAuthResponse(awaiting uint32) error {
	typ, err := s.cr.next()
	if err != nil {
		return s.clientReadErr(err)
	}
	if typ != 'p' {
		return fatal(CodeProtocolViolation, "expected password response, got message type %q", typ)
	}
	if s.cr.n > maxAuthMessage {
		return fatal(CodeProtocolViolation, "invalid password packet size")
	}
	body, err := s.cr.load()
	if err != nil {
		return s.clientReadErr(err)
	}
	if awaiting == pgproto3.AuthTypeSASL {
		if err := s.checkSCRAMInitial(body); err != nil {
			return err
		}
	}
	if err := s.cr.forward(s.sw); err != nil {
		return &serverError{err}
	}
	if err := s.sw.flush(); err != nil {
		return &serverError{err}
	}
	return nil
}

// checkSCRAMInitial fails early, with a reason the user can act on, when a client over TLS says "I
// support channel binding, the server does not" (gs2 flag 'y') to a server reached over TLS: the
// server must reject that as a downgrade attack (RFC 5802 §6), and the flag cannot be changed
// without breaking the client's proof.
func (s *session) checkSCRAMInitial(body []byte) error {
	var msg pgproto3.SASLInitialResponse
	if err := msg.Decode(body); err != nil {
		return fatal(CodeProtocolViolation, "invalid SASL initial response")
	}
	if _, upTLS := s.server.(interface{ ConnectionState() tls.ConnectionState }); upTLS && !s.scramPlusKept && bytes.HasPrefix(msg.Data, []byte("y,")) {
		return &ProxyError{Severity: SeverityFatal, Code: CodeInvalidAuthorization,
			Message: "SCRAM channel binding cannot cross pgseal when both legs use TLS with different certificates",
			Hint: "Give pgseal the database server's own certificate and key (server.tls_cert_file, server.tls_key_file), " +
				"or connect with channel_binding=disable, or use md5/password for this role."}
	}
	return nil
}

// afterAuth relays ParameterStatus, BackendKeyData (its secret replaced by pgseal's) and notices up to
// the first ReadyForQuery, then clears the startup deadlines.
func (s *session) afterAuth() error {
	s.info.ServerParams = map[string]string{}
	for {
		typ, err := s.sr.next()
		if err != nil {
			return s.serverReadErr(err)
		}
		switch typ {
		case 'K':
			if err := s.swapBackendKey(); err != nil {
				return err
			}
			continue
		case 'E':
			return s.relayServerError()
		case 'S':
			if err := s.noteServerParam(); err != nil {
				return err
			}
		case 'Z':
			if err := s.firstReady(); err != nil {
				return err
			}
			if err := s.flushClient(); err != nil {
				return err
			}
			s.setDeadline(s.clientRaw, time.Time{})
			s.setDeadline(s.server, time.Time{})
			return nil
		}
		if err := s.sr.forward(s.cw); err != nil {
			return s.clientSideErr(err)
		}
	}
}

// swapBackendKey keeps the upstream's key data and gives the client the upstream's pid with a
// pgseal secret (cancel.go). It runs before the relay is chosen, so the fast and the goroutine
// relay serve the same key.
func (s *session) swapBackendKey() error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	var k pgproto3.BackendKeyData
	if err := k.Decode(body); err != nil || s.hasKey {
		return fatal(CodeProtocolViolation, "invalid BackendKeyData from the server")
	}
	s.upKey = backendKey{pid: k.ProcessID, secret: k.SecretKey}
	key, err := s.srv.keys.add(s.upKey)
	if err != nil {
		return err
	}
	s.key, s.hasKey = key, true
	return s.cw.send(&pgproto3.BackendKeyData{ProcessID: key.pid, SecretKey: key.secret})
}

// relayServerError forwards a server ErrorResponse during startup (wrong password: 28P01, no such
// database: 3D000, ...); the server closes the connection after it.
func (s *session) relayServerError() error {
	if err := s.sr.forward(s.cw); err != nil {
		return s.clientSideErr(err)
	}
	s.serverFatal = true
	if err := s.flushClient(); err != nil {
		return err
	}
	return errServerRejected
}

var errServerRejected = errors.New("server rejected the connection")

func (s *session) flushClient() error {
	if err := s.cw.flush(); err != nil {
		return &clientError{err}
	}
	return nil
}

// clientSideErr classifies an error from forwarding to the client: a write failure is the
// client's, a read failure the server's.
func (s *session) clientSideErr(err error) error {
	if err == nil {
		return nil
	}
	if s.cw.failed {
		return &clientError{err}
	}
	return s.serverReadErr(err)
}

// serverReadErr turns a read error on the upstream into the session's end reason.
func (s *session) serverReadErr(err error) error {
	switch {
	case errors.Is(err, errOversize):
		return fatal(CodeProtocolViolation, "message from the server exceeds max_message_size")
	case errors.Is(err, errBadLength):
		return fatal(CodeProtocolViolation, "invalid message from the server")
	case s.serverFatal:
		return &serverError{err}
	case context.Cause(s.ctx) == errShutdown:
		return errShutdown
	case s.terminated.Load():
		// The server closed after the client's Terminate; the client loop may not have reported
		// it yet.
		return errClientTerminated
	}
	return &upstreamLost{err}
}

// upstreamLost is the upstream connection ending without a FATAL of its own: the client gets 08006.
type upstreamLost struct{ err error }

func (e *upstreamLost) Error() string { return "upstream connection lost: " + e.err.Error() }
func (e *upstreamLost) Unwrap() error { return e.err }

// clientReadErr turns a read error on the client into the session's end reason.
func (s *session) clientReadErr(err error) error {
	switch {
	case errors.Is(err, errOversize), errors.Is(err, errBadLength):
		s.drainClient = true
		return fatal(CodeProtocolViolation, "invalid frontend message: %v", err)
	case context.Cause(s.ctx) == errShutdown:
		return errShutdown
	}
	return &clientError{fmt.Errorf("read: %w", err)}
}
