package wire

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"
)

// Startup packet codes (protocol docs, "Message Formats": SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
	// maxStartupPacket is PostgreSQL's MAX_STARTUP_PACKET_LENGTH (src/include/libpq/pqcomm.h).
	maxStartupPacket = 10000
)

// errCancelDone ends a connection that carried a CancelRequest: it gets no reply.
var errCancelDone = errors.New("cancel request handled")

// readStartup runs the startup phase under startup_timeout: SSL/GSS negotiation, CancelRequest
// routing, then the StartupMessage, which it checks and keeps for the upstream. Nothing is dialled
// here, so port scans and health checks never reach the database.
func (s *session) readStartup() error {
	s.setDeadline(s.clientRaw, time.Now().Add(s.srv.cfg.Server.StartupTimeout.D()))
	sawSSL, sawGSS := false, false
	for {
		pkt, err := s.readStartupPacket()
		if err != nil {
			return err
		}
		switch code := binary.BigEndian.Uint32(pkt[4:8]); {
		case code == codeSSLRequest && !sawSSL && !sawGSS:
			sawSSL = true
			if err := s.answerSSL(); err != nil {
				return err
			}
		case code == codeGSSENCRequest && !sawGSS && !sawSSL:
			sawGSS = true
			// GSSAPI encryption cannot be relayed; 'N' makes the client go on without it.
			if _, err := s.client.Write([]byte{'N'}); err != nil {
				return &clientError{err}
			}
		case code == codeCancelRequest:
			s.quiet = true
			return s.routeCancel(pkt[4:])
		case code>>16 == 3:
			return s.takeStartupMessage(pkt)
		case code == codeSSLRequest || code == codeGSSENCRequest:
			return fatal(CodeProtocolViolation, "unexpected encryption request after negotiation")
		default:
			s.quiet = true
			return fatal(CodeProtocolViolation, "unsupported frontend protocol %d.%d: server supports 3.0 to 3.2", code>>16, code&0xffff)
		}
	}
}

// readStartupPacket reads one length-prefixed startup packet (length included, at least 8 bytes).
func (s *session) readStartupPacket() ([]byte, error) {
	hdr, err := s.cr.br.Peek(4)
	if err != nil {
		return nil, &clientError{unexpected(err)}
	}
	n := int(binary.BigEndian.Uint32(hdr))
	if n < 8 || n > maxStartupPacket {
		s.quiet = true
		return nil, fatal(CodeProtocolViolation, "invalid length of startup packet")
	}
	p, err := s.cr.br.Peek(n)
	if err != nil {
		return nil, &clientError{unexpected(err)}
	}
	pkt := bytes.Clone(p)
	_, _ = s.cr.br.Discard(n)
	s.cr.bytes += int64(n)
	return pkt, nil
}

// answerSSL answers an SSLRequest: 'S' and a TLS handshake with the configured certificate, or 'N'.
func (s *session) answerSSL() error {
	if s.srv.tls == nil {
		if _, err := s.client.Write([]byte{'N'}); err != nil {
			return &clientError{err}
		}
		return nil
	}
	// Bytes sent after SSLRequest but before the handshake would be read as if they were encrypted:
	// refuse them (CVE-2021-23214).
	if s.cr.br.Buffered() > 0 {
		return fatal(CodeProtocolViolation, "received unencrypted data after SSL request")
	}
	if _, err := s.client.Write([]byte{'S'}); err != nil {
		return &clientError{err}
	}
	tc := tls.Server(s.clientRaw, s.srv.tls)
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return &clientError{fmt.Errorf("TLS handshake: %w", err)}
	}
	s.client, s.info.TLS = tc, true
	bytesIn := s.cr.bytes
	s.cr = newMsgReader(tc, int(s.srv.cfg.Server.MaxMessageSize))
	s.cr.bytes = bytesIn
	s.cw = newMsgWriter(tc)
	return nil
}

// takeStartupMessage checks a protocol 3.x StartupMessage and keeps it. A minor version other than
// 0 is forwarded as is: the server answers NegotiateProtocolVersion itself, and the relay passes it on.
func (s *session) takeStartupMessage(pkt []byte) error {
	// pgproto3 decodes 3.0 and 3.2 only; decode the parameters under 3.0 and keep the original bytes.
	body := bytes.Clone(pkt[4:])
	binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion30)
	var msg pgproto3.StartupMessage
	if len(body) == 5 && body[4] == 0 { // no parameters at all; pgproto3 rejects that layout
		msg.Parameters = map[string]string{}
	} else if err := msg.Decode(body); err != nil {
		return fatal(CodeProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
	}
	user := msg.Parameters["user"]
	if user == "" {
		return fatal(CodeInvalidAuthorization, "no PostgreSQL user name specified in startup packet")
	}
	db := msg.Parameters["database"]
	if db == "" {
		db = user
	}
	s.info.User, s.info.Database, s.info.Parameters = user, db, msg.Parameters
	s.startup = pkt
	s.srv.log.Info("connection start", zap.String("remote", s.remote), zap.String("user", user),
		zap.String("database", db), zap.Bool("tls", s.info.TLS))
	return nil
}

// routeCancel forwards a CancelRequest with a key pgseal issued to the matching upstream session;
// anything else is dropped quietly, as PostgreSQL does (it never replies to a CancelRequest).
func (s *session) routeCancel(body []byte) error {
	var req pgproto3.CancelRequest
	if err := req.Decode(body); err != nil {
		return errCancelDone
	}
	up, ok := s.srv.keys.lookup(backendKey{pid: req.ProcessID, secret: req.SecretKey})
	if !ok {
		return errCancelDone
	}
	if err := s.srv.cancelUpstream(s.ctx, up); err != nil {
		s.srv.log.Warn("cancel request: upstream unreachable", zap.Error(err))
	}
	return errCancelDone
}
