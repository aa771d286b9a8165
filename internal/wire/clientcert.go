package wire

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/pgseal/pgseal/internal/config"
)

// Client certificates. pgseal terminates TLS, so a client's certificate can never reach the
// server. It works as PgBouncer's client_tls_ca_file with server_tls_cert_file does:
//
//   - server.tls_client_ca_file makes pgseal ask clients for a certificate and verify one that is
//     presented against that CA (a bad one fails the handshake, as in PostgreSQL).
//   - upstream.tls_cert_file/tls_key_file is pgseal's own client certificate for the server. It is
//     presented only on behalf of a client that presented a verified certificate whose common
//     name is the user it logs in as (PostgreSQL's cert authentication rule). Any other client
//     gets no certificate from pgseal, so a server that requires one refuses it itself; pgseal's
//     certificate never stands in for a client without one.
//
// The server then checks pgseal's certificate against the user, so one pair serves the user it was
// issued to.

// clientCAs loads server.tls_client_ca_file into the client leg's TLS config.
func clientCAs(conf *tls.Config, s config.Server) error {
	if s.TLSClientCAFile == "" {
		return nil
	}
	if conf == nil {
		return errors.New("server.tls_client_ca_file needs server.tls_cert_file and tls_key_file")
	}
	pem, err := os.ReadFile(s.TLSClientCAFile)
	if err != nil {
		return fmt.Errorf("server.tls_client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("server.tls_client_ca_file %s: no PEM certificates", s.TLSClientCAFile)
	}
	conf.ClientCAs, conf.ClientAuth = pool, tls.VerifyClientCertIfGiven
	return nil
}

// upstreamCert loads upstream.tls_cert_file/tls_key_file (nil when unset).
func upstreamCert(u config.Upstream) (*tls.Certificate, error) {
	if u.TLSCertFile == "" && u.TLSKeyFile == "" {
		return nil, nil
	}
	if u.TLSCertFile == "" || u.TLSKeyFile == "" {
		return nil, errors.New("upstream.tls_cert_file and upstream.tls_key_file must be set together")
	}
	cert, err := tls.LoadX509KeyPair(u.TLSCertFile, u.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("upstream.tls_cert_file/tls_key_file: %w", err)
	}
	return &cert, nil
}

// certUser reports whether the client presented a certificate, verified against
// server.tls_client_ca_file, whose common name is user.
func (s *session) certUser(user string) bool {
	tc, ok := s.client.(*tls.Conn)
	if !ok || s.srv.tls == nil || s.srv.tls.ClientCAs == nil {
		return false
	}
	st := tc.ConnectionState()
	return len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 && st.PeerCertificates[0].Subject.CommonName == user
}

// upstreamTLSFor is the upstream TLS config for one session: with pgseal's client certificate
// when the client authenticated with its own (certUser), else one that presents none.
func (srv *Server) upstreamTLSFor(withCert bool) *tls.Config {
	if srv.upTLS == nil || !withCert || srv.upCert == nil {
		return srv.upTLS
	}
	c := srv.upTLS.Clone()
	cert := srv.upCert
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	return c
}
