package pgtest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest/cluster"
)

// Superuser is the role the private cluster's superuser is named after.
const Superuser = cluster.Superuser

// Groups whose members must authenticate with the named method on TCP connections.
const (
	GroupMD5      = cluster.GroupMD5
	GroupSCRAM    = cluster.GroupSCRAM
	GroupPassword = cluster.GroupPassword
)

// Server is a running PostgreSQL cluster (internal/pgtest/cluster) with the test helpers of this
// package (NewDB, CreateRole).
type Server struct{ *cluster.Server }

// Options shape a private cluster of a test's own (Private, StartWith).
type Options = cluster.Options

// CertPair is a PEM certificate and key written to files.
type CertPair = cluster.CertPair

// Private starts a cluster for tb alone, configured by o, and stops it when tb ends. It is always
// a private cluster, never PGSEAL_TEST_DATABASE_URL (a test that needs server settings or the
// server log cannot have them from a shared server). Like Shared it skips tb without PostgreSQL,
// or fails it when CI is set.
func Private(tb testing.TB, o Options) *Server {
	tb.Helper()
	s, err := StartWith(o)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: PostgreSQL is required under CI: %v", err)
		}
		tb.Skipf("pgtest: no PostgreSQL for this test: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartWith starts a private cluster configured by o. The caller must Stop it.
func StartWith(o Options) (*Server, error) { return wrap(cluster.StartWith(o)) }

// Start runs a private cluster with the default options. The caller must Stop it. (Production
// code uses cluster.Start, which does not link the testing package.)
func Start() (*Server, error) { return wrap(cluster.Start()) }

// Stop shuts the private cluster down and removes its files. It is a no-op for an external server
// or a nil s.
func (s *Server) Stop() {
	if s != nil && s.Server != nil {
		s.Server.Stop()
	}
}

var (
	startOnce sync.Once
	started   *Server
	startErr  error
)

// Shared returns the test binary's server, starting it on first use. It skips or fails tb when no
// server can be had (see the package doc).
func Shared(tb testing.TB) *Server {
	tb.Helper()
	startOnce.Do(func() { started, startErr = start() })
	if startErr != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: PostgreSQL is required under CI: %v", startErr)
		}
		tb.Skipf("pgtest: no PostgreSQL for this test: %v", startErr)
	}
	return started
}

func start() (*Server, error) {
	if url := os.Getenv("PGSEAL_TEST_DATABASE_URL"); url != "" {
		s, err := cluster.External(url)
		if err != nil {
			return nil, fmt.Errorf("PGSEAL_TEST_DATABASE_URL: %w", err)
		}
		return &Server{s}, nil
	}
	return Start()
}

func wrap(s *cluster.Server, err error) (*Server, error) {
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// FindBinDir locates the PostgreSQL server binaries (see cluster.FindBinDir).
func FindBinDir() (string, error) { return cluster.FindBinDir() }

// NewCA writes a throwaway CA into dir and returns its PEM file and a function that issues
// certificates signed by it (see cluster.NewCA).
func NewCA(dir string) (caFile string, issue func(prefix string) (CertPair, error), err error) {
	return cluster.NewCA(dir)
}

// CA is a throwaway certificate authority (see cluster.CA); NewCAIn makes one in a directory.
type CA = cluster.CA

// NewCAIn makes a throwaway CA in dir (see cluster.NewCAIn).
func NewCAIn(dir string) (*CA, error) { return cluster.NewCAIn(dir) }

// IssueCert issues a certificate for localhost and 127.0.0.1 signed by ca (see cluster.IssueCert).
func IssueCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, prefix string) (CertPair, error) {
	return cluster.IssueCert(ca, caKey, prefix)
}
