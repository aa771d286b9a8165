package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the role the private cluster's superuser is named after.
const Superuser = "pgseal"

// Groups whose members must authenticate with the named method on TCP connections.
const (
	GroupMD5      = "pgtest_md5"
	GroupSCRAM    = "pgtest_scram"
	GroupPassword = "pgtest_password"
)

// Server is a running PostgreSQL cluster.
type Server struct {
	// Host and Port of the TCP listener.
	Host string
	Port int
	// SocketDir holds the Unix socket (empty for an external server).
	SocketDir string
	// CAFile is the PEM file of the CA that signed the server certificate (empty for an external
	// server, or when TLS is off).
	CAFile string
	// CertFile and KeyFile are the server's own certificate and key (empty as CAFile is), for a
	// proxy that presents the same certificate as the server.
	CertFile, KeyFile string
	// BinDir holds the server binaries (empty for an external server).
	BinDir string
	// External is true for a server pgseal did not start (External, PGSEAL_TEST_DATABASE_URL).
	External bool
	// LogPath is the server's log file (Options.LogFile); empty otherwise.
	LogPath string

	adminURL string
	dataDir  string
	tmpDir   string
	cmd      *exec.Cmd
	exited   chan struct{}
	settings []string
}

// Options shape a private cluster (StartWith; pgtest.Private in tests).
type Options struct {
	// Settings are extra server settings, "name=value" each, passed as -c after pgtest's own
	// (so they win over them), e.g. "log_statement=all".
	Settings []string
	// LogFile sends the server's log to a file, Server.LogPath, which a test can read (Log).
	// Without it the log is kept in memory and only shown when the server fails to start.
	LogFile bool
}

// StartWith starts a private cluster configured by o. The caller must Stop it.
func StartWith(o Options) (*Server, error) { return startPrivateWith(o) }

// Log returns the server log written so far (Options.LogFile).
func (s *Server) Log() ([]byte, error) {
	if s.LogPath == "" {
		return nil, errors.New("pgtest: the server has no log file (Options.LogFile)")
	}
	return os.ReadFile(s.LogPath)
}

// Addr is host:port of the TCP listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// URL is a connection string for database db as user (no password, no TLS).
func (s *Server) URL(user, db string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", user, s.Addr(), db)
}

// AdminURL connects as the superuser to the maintenance database.
func (s *Server) AdminURL() string { return s.adminURL }

// Exec runs one SQL statement as the superuser on the maintenance database.
func (s *Server) Exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Start runs a private cluster with the default options (used by `proxy dev`). The caller must
// Stop it.
func Start() (*Server, error) { return startPrivateWith(Options{}) }

// External describes a server that is already running, reached as a superuser through url
// (pgtest's PGSEAL_TEST_DATABASE_URL). Stop leaves it alone.
func External(url string) (*Server, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return &Server{Host: cfg.Host, Port: int(cfg.Port), External: true, adminURL: url}, nil
}

// Stop shuts the private cluster down and removes its files. It is a no-op for an external server.
func (s *Server) Stop() {
	if s == nil || s.External || s.cmd == nil {
		return
	}
	// SIGQUIT is PostgreSQL's immediate shutdown: nothing here needs to survive.
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.tmpDir)
}

// FindBinDir locates the PostgreSQL server binaries: $PGSEAL_PG_BIN, then the newest
// /usr/lib/postgresql/*/bin, then initdb on $PATH.
func FindBinDir() (string, error) {
	if d := os.Getenv("PGSEAL_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) found; install postgresql or set PGSEAL_PG_BIN")
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// runAs is the account the cluster runs under: nil means the current one.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "pgseal-test").CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "already exists") {
			return nil, fmt.Errorf("running as root and cannot create an unprivileged user: %v: %s", err, out)
		}
		if u, err = user.Lookup("pgseal-test"); err != nil {
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
