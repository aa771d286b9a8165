package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// hba picks the authentication method by group membership; trust for everything else.
var hba = `local all all trust
host all +` + GroupMD5 + ` 127.0.0.1/32 md5
host all +` + GroupSCRAM + ` 127.0.0.1/32 scram-sha-256
host all +` + GroupPassword + ` 127.0.0.1/32 password
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
`

func startPrivateWith(o Options) (*Server, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "pgseal-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", BinDir: bin, tmpDir: tmp, dataDir: filepath.Join(tmp, "data"), SocketDir: tmp,
		settings: o.Settings}
	if o.LogFile {
		s.LogPath = filepath.Join(tmp, "postgres.log")
	}
	if err := s.initdb(cred); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = s.launch(cred); lastErr == nil {
			if lastErr = s.bootstrap(); lastErr == nil {
				return s, nil
			}
			s.Stop()
			return nil, lastErr
		}
	}
	_ = os.RemoveAll(tmp)
	return nil, lastErr
}

func (s *Server) initdb(cred *syscall.Credential) error {
	if cred != nil {
		if err := chownTree(s.tmpDir, cred); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(s.BinDir, "initdb"), "-D", s.dataDir, "-U", Superuser,
		"-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, LastLines(out))
	}
	if err := os.WriteFile(filepath.Join(s.dataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	ca, err := writeCerts(s.dataDir, s.tmpDir)
	if err != nil {
		return fmt.Errorf("pgtest: certificates: %w", err)
	}
	s.CAFile = ca
	s.CertFile, s.KeyFile = filepath.Join(s.dataDir, "server.crt"), filepath.Join(s.dataDir, "server.key")
	if cred != nil {
		return chownTree(s.tmpDir, cred)
	}
	return nil
}

func (s *Server) launch(cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	cmd := exec.Command(filepath.Join(s.BinDir, "postgres"), "-D", s.dataDir,
		"-p", fmt.Sprint(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.SocketDir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=600", "-c", "shared_buffers=64MB",
		"-c", "ssl=on", "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key",
		"-c", "log_min_messages=warning", "-c", "logging_collector=off", "-c", "TimeZone=UTC")
	for _, kv := range s.settings {
		cmd.Args = append(cmd.Args, "-c", kv)
	}
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if s.LogPath != "" {
		// The server writes its log (stderr, no collector) straight into the file, so a line is
		// on disk before the client sees the statement's answer.
		f, err := os.OpenFile(s.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("pgtest: log file: %w", err)
		}
		defer f.Close() // the child holds its own descriptor
		cmd.Stdout, cmd.Stderr = f, f
	}
	// Pdeathsig: if the test binary dies without cleanup, the server goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	s.adminURL = s.URL(Superuser, "postgres")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited at start: %s", LastLines(s.startLog(&logBuf)))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.adminURL)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-s.exited
	return fmt.Errorf("postgres did not accept connections within 30s: %s", LastLines(s.startLog(&logBuf)))
}

// startLog is what the server wrote while starting: the log file if it has one, else buf.
func (s *Server) startLog(buf *bytes.Buffer) []byte {
	if s.LogPath != "" {
		b, _ := os.ReadFile(s.LogPath)
		return b
	}
	return buf.Bytes()
}

func (s *Server) bootstrap() error {
	ctx := context.Background()
	for _, g := range []string{GroupMD5, GroupSCRAM, GroupPassword} {
		if err := s.Exec(ctx, "CREATE ROLE "+g+" NOLOGIN"); err != nil {
			return fmt.Errorf("pgtest: create group %s: %w", g, err)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func chownTree(root string, cred *syscall.Credential) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

// LastLines is the last five lines of b joined by " | ": a server log's tail for an error message.
func LastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
