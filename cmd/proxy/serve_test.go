package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestServe runs `proxy serve` in-process against a real PostgreSQL: clients get through, the
// admin endpoints answer, the control API's authorize flow works, and cancelling stops it cleanly.
func TestServe(t *testing.T) {
	db := pgtest.New(t)
	f := newCLIFixture(t)
	if code, _, stderr := f.cli(t, "keyring", "init"); code != 0 {
		t.Fatalf("keyring init = %d: %s", code, stderr)
	}
	body, _ := os.ReadFile(f.config)
	writeTestFile(t, f.config, string(body)+fmt.Sprintf(
		"[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n[upstream]\naddress = %q\ntls = \"disable\"\n[log]\nformat = \"json\"\n",
		db.Server.Addr()))
	cfg, err := config.Load(f.config, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type addrs struct{ pg, admin string }
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, io.Discard, func(a, b string) { ready <- addrs{a, b} })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("serve() = %v before it was ready", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve() not ready after 20s")
	}

	t.Run("a client gets through to PostgreSQL", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", pgtest.Superuser, a.pg, db.Name))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
			t.Fatalf("SELECT 41 + 1 = %d, %v; want 42", n, err)
		}
	})

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + a.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.admin+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	t.Run("health, readiness and metrics answer", func(t *testing.T) {
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": `"ready":true`, "/metrics": "pgseal_connections_total"} {
			if code, body := get(path); code != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s = %d %q, want 200 containing %q", path, code, body, want)
			}
		}
	})
	t.Run("the control API creates a keyset with a token from an access key", func(t *testing.T) {
		code, out, stderr := f.cli(t, "access-key", "create", "--role", "control", "--json")
		if code != 0 {
			t.Fatalf("access-key create = %d: %s", code, stderr)
		}
		var created map[string]any
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatalf("access-key create --json printed %q: %v", out, err)
		}
		key, _ := created["access_key"].(string)
		if key == "" {
			key, _ = created["accessKey"].(string)
		}
		if key == "" {
			t.Fatalf("access-key create --json = %s, want an access key", out)
		}
		// The running proxy sees the new key when it reloads the keyring file (within a second).
		var token string
		for deadline := time.Now().Add(5 * time.Second); ; {
			code, auth := post("/api/authorize", "", fmt.Sprintf(`{"accessKey": %q}`, key))
			token, _ = auth["accessToken"].(string)
			if code == 200 && token != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("POST /api/authorize = %d %v", code, auth)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, ks := post("/create-keyset", token, `{"name": "acme", "description": "Acme Corp"}`); code != 200 || ks["name"] != "acme" || ks["id"] == "" {
			t.Fatalf("POST /create-keyset = %d %v", code, ks)
		}
		if code, _ := post("/create-keyset", "not-a-token", `{"name": "other"}`); code != 401 {
			t.Fatalf("POST /create-keyset with a bad token = %d, want 401", code)
		}
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve() after cancel = %v, want nil", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve() did not stop after cancel")
	}
}
