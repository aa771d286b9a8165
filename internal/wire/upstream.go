package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/pgseal/pgseal/internal/config"
)

// sslRequest is the 8-byte SSLRequest packet (protocol docs, "SSL Session Encryption").
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// upstreamTLS builds the TLS config for the upstream leg, or nil for tls = "disable". Like libpq's
// sslmode: prefer and require encrypt without verifying; verify-full checks the chain against
// ca_file (system roots when empty) and the host name (server_name, default the address host).
func upstreamTLS(u config.Upstream) (*tls.Config, error) {
	switch u.TLS {
	case config.TLSDisable, "":
		return nil, nil
	case config.TLSPrefer, config.TLSRequire:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // libpq sslmode semantics
	case config.TLSVerifyFull:
	default:
		return nil, fmt.Errorf("upstream.tls %q is not one of disable, prefer, require, verify-full", u.TLS)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.ServerName}
	if conf.ServerName == "" {
		host, _, err := net.SplitHostPort(u.Address)
		if err != nil {
			return nil, fmt.Errorf("upstream.address %q: %w", u.Address, err)
		}
		conf.ServerName = host
	}
	if u.CAFile != "" {
		pem, err := os.ReadFile(u.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream.ca_file %s: no PEM certificates", u.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// connectUpstream dials the upstream and negotiates TLS per upstream.tls. The returned conn is
// ready for a StartupMessage or CancelRequest. ctx bounds the whole attempt.
func (srv *Server) connectUpstream(ctx context.Context, conf *tls.Config) (net.Conn, error) {
	start := time.Now()
	conn, err := srv.connectUpstreamRaw(ctx, conf)
	if err != nil {
		srv.m.UpstreamErrors.Inc()
		return nil, err
	}
	srv.m.UpstreamConnectTime.Observe(time.Since(start).Seconds())
	return conn, nil
}

func (srv *Server) connectUpstreamRaw(ctx context.Context, conf *tls.Config) (net.Conn, error) {
	raw, err := srv.dial(ctx, "tcp", srv.cfg.Upstream.Address)
	if err != nil {
		return nil, fmt.Errorf("dial upstream: %w", err)
	}
	if conf == nil {
		return raw, nil
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn, err := negotiateUpstreamTLS(ctx, raw, conf, srv.cfg.Upstream.TLS)
	if err != nil {
		raw.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, err
	}
	if !stop() {
		conn.Close()
		return nil, fmt.Errorf("upstream TLS: %w", ctx.Err())
	}
	return conn, nil
}

func negotiateUpstreamTLS(ctx context.Context, raw net.Conn, conf *tls.Config, mode string) (net.Conn, error) {
	if _, err := raw.Write(sslRequest); err != nil {
		return nil, fmt.Errorf("send SSLRequest upstream: %w", err)
	}
	// Read exactly one byte from the socket, never buffered: bytes after 'S' would be a
	// man-in-the-middle injection (CVE-2021-23222).
	var b [1]byte
	if _, err := io.ReadFull(raw, b[:]); err != nil {
		return nil, fmt.Errorf("read SSLRequest answer from upstream: %w", err)
	}
	switch b[0] {
	case 'S':
	case 'N':
		if mode == config.TLSPrefer {
			return raw, nil
		}
		return nil, errors.New("upstream refused TLS and upstream.tls requires it")
	default:
		return nil, fmt.Errorf("upstream answered SSLRequest with %q", b[0])
	}
	tc := tls.Client(raw, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("upstream TLS handshake: %w", err)
	}
	return tc, nil
}
