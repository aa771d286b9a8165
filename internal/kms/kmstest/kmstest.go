// Package kmstest starts a local implementation of the AWS KMS API (github.com/nsmithuk/local-kms,
// a Go program: go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6) for
// tests, and talks to it with the official AWS SDK. It is found as $PGSEAL_LOCAL_KMS, local-kms on
// PATH, or in $(go env GOPATH)/bin; without it tests skip, or fail when CI is set.
package kmstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Region and Account are the local service's.
const (
	Region  = "eu-west-1"
	Account = "111122223333"
)

// Server is one running local KMS.
type Server struct {
	Endpoint string
	Client   *kms.Client
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start runs a local KMS for t (stopped when t ends) and sets the AWS environment variables the
// SDK's default chain reads (fake credentials, the region).
func Start(t *testing.T) *Server {
	t.Helper()
	bin := find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("kmstest: local-kms not found (.ci/run installs it)")
		}
		t.Skip("kmstest: local-kms not found; go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "pgseal-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "pgseal-test")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+port, "KMS_REGION="+Region, "KMS_ACCOUNT_ID="+Account,
		"KMS_DATA_PATH="+filepath.Join(dir, "data"), "KMS_SEED_PATH="+filepath.Join(dir, "none.yaml"))
	log, err := os.Create(filepath.Join(dir, "local-kms.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("kmstest: %v", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + port, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(s.done) }()
	t.Cleanup(s.Stop)
	s.Client = kms.New(kms.Options{Region: Region, BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("pgseal-test", "pgseal-test", "")})
	s.waitReady(t)
	return s
}

// Stop ends the local KMS (idempotent).
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// CreateKey makes a symmetric key and returns its id.
func (s *Server) CreateKey(t *testing.T) string {
	t.Helper()
	out, err := s.Client.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("kmstest: CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// DisableKey disables a key: it can no longer wrap or unwrap.
func (s *Server) DisableKey(t *testing.T, id string) {
	t.Helper()
	if _, err := s.Client.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
		t.Fatalf("kmstest: DisableKey: %v", err)
	}
}

// EnableKey enables a disabled key again.
func (s *Server) EnableKey(t *testing.T, id string) {
	t.Helper()
	if _, err := s.Client.EnableKey(context.Background(), &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
		t.Fatalf("kmstest: EnableKey: %v", err)
	}
}

func (s *Server) waitReady(t *testing.T) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.Endpoint); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-s.done:
			t.Fatal("kmstest: local-kms exited at start")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("kmstest: local-kms did not start")
}

func find() string {
	if p := os.Getenv("PGSEAL_LOCAL_KMS"); p != "" {
		return p
	}
	if p, err := exec.LookPath("local-kms"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(out[:len(out)-1])
		}
	}
	if p := filepath.Join(gopath, "bin", "local-kms"); gopath != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}
