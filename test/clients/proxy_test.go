package clients

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
)

// masterKeyEnv is the variable the proxy subprocess reads its master key from.
const masterKeyEnv = "PGSEAL_MASTER_KEY"

// buildProxy builds ./cmd/proxy into dir, so the clients talk to the proxy exactly as an operator
// runs it. PGSEAL_TEST_PROXY_BIN names a prebuilt binary to use instead (a release build, or a
// known-good one while the tree is mid-change).
func buildProxy(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("PGSEAL_TEST_PROXY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(dir, "proxy")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/pgseal/pgseal/cmd/proxy")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/proxy: %v\n%s", err, out)
	}
	return bin
}

// newKeyring creates a file keyring in dir under a fresh random master key, with keysets acme and
// globex both granted to client. It returns the keyring path and the master key (base64).
func newKeyring(t *testing.T, dir, client string) (path, master string) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	master = base64.StdEncoding.EncodeToString(key)
	path = filepath.Join(dir, "keyring.json")
	cfg := config.Keyring{Store: "file", Path: path, MasterKeyEnv: masterKeyEnv}
	ctx := context.Background()
	m, err := keyring.OpenManager(ctx, cfg, func(name string) string {
		if name == masterKeyEnv {
			return master
		}
		return ""
	})
	if err != nil {
		t.Fatalf("keyring.OpenManager() = %v", err)
	}
	defer m.Close()
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Manager.Init() = %v", err)
	}
	for _, ks := range []string{"acme", "globex"} {
		if _, err := m.CreateKeyset(ctx, ks, "client-compatibility tenant"); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", ks, err)
		}
	}
	if _, err := m.CreateClient(ctx, client, false); err != nil {
		t.Fatalf("CreateClient(%s) = %v", client, err)
	}
	for _, ks := range []string{"acme", "globex"} {
		if err := m.Grant(ctx, ks, client); err != nil {
			t.Fatalf("Grant(%s, %s) = %v", ks, client, err)
		}
	}
	return path, master
}

// proxyConfig is the proxy.toml the subprocess runs with. It listens on port 0; startProxy reads
// the bound address from the proxy's log, so there is no race for a free port.
func proxyConfig(upstream, keyringPath string, encrypted bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version = 1

[server]
listen = "127.0.0.1:0"
admin_listen = ""

[upstream]
address = %q
tls = "disable"

[keyring]
store = "file"
path = %q
master_key_env = %q

[tenancy]
setting = "app.tenant"
mode = "multi"

[log]
level = "info"
format = "json"
`, upstream, keyringPath, masterKeyEnv)
	if encrypted {
		b.WriteString(`
[[encrypt]]
table = "public.users"
column = "email"
type = "text"
search = ["eq"]

[[encrypt]]
table = "public.bulk"
column = "email"
type = "text"
`)
	}
	return b.String()
}

// startProxy runs the proxy binary with config and master key until the test ends, and returns
// the address it listens on. The proxy's log is kept and shown if the test fails.
func startProxy(t *testing.T, bin, dir, config, master string) string {
	t.Helper()
	cfgPath := filepath.Join(dir, "proxy.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Dir = dir // relative paths (the postgres store's default keyring.state) stay in the proxy's own directory
	cmd.Env = append(envWithout("PGSEAL_"), masterKeyEnv+"="+master)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	logs := &logBuffer{}
	addrc := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		scanLog(stderr, logs, addrc)
	}()
	t.Cleanup(func() { stopProxy(t, cmd, done, logs) })
	select {
	case addr := <-addrc:
		return addr
	case <-done:
		t.Fatalf("proxy exited before listening:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("proxy did not start listening within 30s:\n%s", logs.String())
	}
	return ""
}

// stopProxy interrupts the proxy, as an operator's Ctrl-C does, and expects a clean exit within
// 10s (a race report under -race makes the exit status non-zero). The log is shown on failure.
func stopProxy(t *testing.T, cmd *exec.Cmd, logDone <-chan struct{}, logs *logBuffer) {
	select {
	case <-logDone:
		// It exited by itself before listening; startProxy has already said so (or skipped).
		_ = cmd.Wait()
		return
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-logDone: // the proxy closed its stderr: it has exited
	case <-time.After(10 * time.Second):
		t.Errorf("proxy did not stop within 10s of an interrupt")
		_ = cmd.Process.Kill()
		<-logDone
	}
	// Wait only after the log is read to the end (it closes the pipe).
	if err := cmd.Wait(); err != nil && !t.Failed() {
		t.Errorf("proxy exit = %v, want a clean exit", err)
	}
	if strings.Contains(logs.String(), "WARNING: DATA RACE") && !t.Failed() {
		t.Errorf("the race detector found a data race in the proxy")
	}
	if t.Failed() {
		t.Logf("proxy log:\n%s", logs.String())
	}
}

// scanLog copies the proxy's JSON log lines into logs and sends the address of the "pgseal
// listening" line to addrc.
func scanLog(r io.Reader, logs *logBuffer, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		logs.add(line)
		if sent {
			continue
		}
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "pgseal listening" && entry.Addr != "" {
			addrc <- entry.Addr
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// logBuffer keeps the proxy's log lines for the failure report.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// envWithout is the process environment without variables starting with any of prefixes, so a
// developer's PGSEAL_* or PG* settings cannot change what a subprocess connects to.
func envWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}
