package control

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
)

type fixture struct {
	srv   *httptest.Server
	kr    *keyring.Keyring
	m     *keyring.Manager
	key   string // control access key
	token string
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	cfg := config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(string) string { return key }
	admin, err := keyring.OpenManager(ctx, cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Init(ctx); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.Open(ctx, cfg, getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	f := &fixture{kr: kr, m: kr.Manager(), clock: &fakeClock{t: time.Now()}}
	f.m.SetClock(f.clock.now)
	if _, f.key, err = f.m.CreateAccessKey(ctx, keyring.RoleControl); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(NewHandler(kr, f.m, nil))
	t.Cleanup(f.srv.Close)
	code, body := f.do(t, "POST", "/api/authorize", "", `{"accessKey":"`+f.key+`"}`)
	if code != 200 {
		t.Fatalf("POST /api/authorize = %d %s, want 200", code, body)
	}
	var resp struct {
		AccessToken string `json:"accessToken"`
		Expiry      int64  `json:"expiry"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.AccessToken == "" {
		t.Fatalf("authorize body %s: %v", body, err)
	}
	if d := time.Until(time.Unix(resp.Expiry, 0)); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expiry in %v, want about 15 minutes", d)
	}
	f.token = resp.AccessToken
	return f
}

func (f *fixture) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s Content-Type = %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	f := newFixture(t)
	tok := f.token
	steps := []struct {
		name         string
		method, path string
		token, body  string
		wantCode     int
		wantBody     string // substring
	}{
		{"creating a keyset returns its id, name and description", "POST", "/create-keyset", tok, `{"name":"acme","description":"Acme"}`, 200, `"name":"acme","description":"Acme"`},
		{"creating it again is a conflict", "POST", "/create-keyset", tok, `{"name":"acme"}`, 409, `"error"`},
		{"a bad keyset name is a bad request", "POST", "/create-keyset", tok, `{"name":"Not OK"}`, 400, `"error"`},
		{"an unknown field is a bad request", "POST", "/create-keyset", tok, `{"name":"x","owner":"me"}`, 400, `unknown field`},
		{"trailing data is a bad request", "POST", "/create-keyset", tok, `{"name":"x"} {}`, 400, `trailing`},
		{"malformed JSON is a bad request", "POST", "/create-keyset", tok, `{"name":`, 400, `"error"`},
		{"an empty body is a bad request", "POST", "/create-keyset", tok, ``, 400, `empty body`},
		{"an oversized body is a bad request", "POST", "/create-keyset", tok, `{"name":"x","description":"` + strings.Repeat("a", maxBody) + `"}`, 400, `larger than`},
		{"creating a client grants the default keyset", "POST", "/create-client", tok, `{"name":"app"}`, 200, `"grants":["default"]`},
		{"creating a client without the default grant", "POST", "/create-client", tok, `{"name":"batch","no_default_grant":true}`, 200, `"grants":[]`},
		{"granting by names works", "POST", "/grant-keyset", tok, `{"keyset_id":"acme","client_id":"app"}`, 200, `{}`},
		{"granting an unknown keyset is not found", "POST", "/grant-keyset", tok, `{"keyset_id":"nope","client_id":"app"}`, 404, `not found`},
		{"granting to an unknown client is not found", "POST", "/grant-keyset", tok, `{"keyset_id":"acme","client_id":"nobody"}`, 404, `not found`},
		{"granting without a client is a bad request", "POST", "/grant-keyset", tok, `{"keyset_id":"acme"}`, 400, `required`},
		{"listing clients shows the grant", "GET", "/list-clients", tok, ``, 200, `"grants":["acme","default"]`},
		{"revoking works", "POST", "/revoke-keyset", tok, `{"keyset_id":"acme","client_id":"app"}`, 200, `{}`},
		{"rotating makes generation 2 primary", "POST", "/rotate-keyset", tok, `{"keyset_id":"acme"}`, 200, `"primary_generation":2`},
		{"rotating an unknown keyset is not found", "POST", "/rotate-keyset", tok, `{"keyset_id":"nope"}`, 404, `not found`},
		{"rotating the index keys makes generation 3 primary under index generation 2", "POST", "/rotate-keyset-index", tok, `{"keyset_id":"acme"}`, 200, `"gen":3,"state":"primary","index_gen":2`},
		{"disabling works", "POST", "/disable-keyset", tok, `{"keyset_id":"acme"}`, 200, `"state":"disabled"`},
		{"rotating a disabled keyset is a bad request", "POST", "/rotate-keyset", tok, `{"keyset_id":"acme"}`, 400, `disabled`},
		{"enabling works", "POST", "/enable-keyset", tok, `{"keyset_id":"acme"}`, 200, `"state":"active"`},
		{"listing keysets shows both", "POST", "/list-keysets", tok, `{}`, 200, `"name":"default"`},
		{"a wrong method is not allowed", "GET", "/create-keyset", tok, ``, 405, `not allowed`},
		{"an unknown path is not found", "POST", "/drop-everything", tok, `{}`, 404, `no such endpoint`},
		{"no token is unauthorized", "POST", "/list-keysets", "", ``, 401, `"error"`},
		{"a malformed token is unauthorized", "POST", "/list-keysets", "garbage", ``, 401, `"error"`},
		{"an access key is not a token", "POST", "/list-keysets", f.key, ``, 401, `"error"`},
		{"a token with a flipped character is unauthorized", "POST", "/list-keysets", flip(tok), ``, 401, `"error"`},
		{"a wrong access key is unauthorized", "POST", "/api/authorize", "", `{"accessKey":"` + flip(f.key) + `"}`, 401, `"error"`},
		{"an authorize body with an unknown field is a bad request", "POST", "/api/authorize", "", `{"access_key":"x"}`, 400, `unknown field`},
		{"authorize by GET is not allowed", "GET", "/api/authorize", "", ``, 405, `not allowed`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, body := f.do(t, s.method, s.path, s.token, s.body)
			if code != s.wantCode || !strings.Contains(body, s.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", s.method, s.path, code, body, s.wantCode, s.wantBody)
			}
			if strings.Contains(body, f.key) || (s.path != "/api/authorize" && strings.Contains(body, tok)) {
				t.Fatalf("%s %s body contains a secret", s.method, s.path)
			}
		})
	}
}

func TestChangesAreInForceInTheKeyringAtOnce(t *testing.T) {
	f := newFixture(t)
	f.do(t, "POST", "/create-keyset", f.token, `{"name":"acme"}`)
	f.do(t, "POST", "/create-client", f.token, `{"name":"app","no_default_grant":true}`)
	f.do(t, "POST", "/grant-keyset", f.token, `{"keyset_id":"acme","client_id":"app"}`)
	ks, ok := f.kr.Snapshot().Keyset("acme")
	if !ok || !f.kr.Snapshot().Allowed("app", ks) {
		t.Fatal("Allowed(app, acme) right after grant-keyset = false, want true")
	}
	info, err := f.m.VerifyAccessKey(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	if f.kr.Snapshot().Allowed(info.ID.String(), ks) || f.kr.Snapshot().Allowed(f.key, ks) {
		t.Fatal("Allowed(control access key) = true, want false: a control key is not a client")
	}
	f.do(t, "POST", "/disable-keyset", f.token, `{"keyset_id":"`+ks.UUID.String()+`"}`)
	ks, _ = f.kr.Snapshot().Keyset("acme")
	if ks.Active() || f.kr.Snapshot().Allowed("app", ks) {
		t.Fatal("keyset usable right after disable-keyset by UUID, want disabled")
	}
}

func TestExpiredTokenIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	f.clock.add(TokenTTL + time.Second)
	if code, body := f.do(t, "POST", "/list-keysets", f.token, ``); code != 401 || !strings.Contains(body, "expired") {
		t.Fatalf("list-keysets with an expired token = %d %s, want 401", code, body)
	}
}

// flip changes one character in the middle of s to another of the same alphabet.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
