package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "proxy.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("../../proxy.toml.example", noEnv)
	if err != nil {
		t.Fatalf("Load(proxy.toml.example) = %v, want nil", err)
	}
	if len(cfg.Encrypt) != 1 || !cfg.Encrypt[0].HasEq() || cfg.Encrypt[0].QualifiedTable() != "public.users" {
		t.Fatalf("encrypt = %+v, want public.users.email with eq", cfg.Encrypt)
	}
	if cfg.Server.MaxMessageSize != 256<<20 || cfg.Server.StartupTimeout.D() != 10*time.Second {
		t.Fatalf("server = %+v, want 256MB and 10s", cfg.Server)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		env     map[string]string
		wantErr []string
		check   func(*testing.T, *Config)
	}{
		{name: "an empty file gives the defaults", body: "version = 1", check: func(t *testing.T, c *Config) {
			if c.Upstream.Address != "127.0.0.1:5432" || c.Tenancy.Mode != "multi" {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "unknown keys are rejected by name", body: "version = 1\n[server]\nlisten_addr = \"x\"\n",
			wantErr: []string{"unknown keys", "server.listen_addr"}},
		{name: "environment overrides the file", body: "version = 1\n[upstream]\naddress = \"a:1\"\n",
			env: map[string]string{"PGSEAL_UPSTREAM_ADDRESS": "db:5433", "PGSEAL_SERVER_MAX_CONNECTIONS": "7",
				"PGSEAL_SERVER_SHUTDOWN_TIMEOUT": "2s"},
			check: func(t *testing.T, c *Config) {
				if c.Upstream.Address != "db:5433" || c.Server.MaxConnections != 7 || c.Server.ShutdownTimeout.D() != 2*time.Second {
					t.Fatalf("after env: %+v %+v", c.Upstream, c.Server)
				}
			}},
		{name: "a bad environment value names the variable", body: "version = 1",
			env: map[string]string{"PGSEAL_SERVER_MAX_CONNECTIONS": "many"}, wantErr: []string{"PGSEAL_SERVER_MAX_CONNECTIONS"}},
		{name: "every problem is reported at once",
			body:    "version = 2\n[server]\nlisten = \"nope\"\n[upstream]\ntls = \"maybe\"\n[tenancy]\nmode = \"x\"\n",
			wantErr: []string{"version = 2", "server.listen", "upstream.tls", "tenancy.mode"}},
		{name: "verify-full needs a CA file", body: "version = 1\n[upstream]\ntls = \"verify-full\"\n",
			wantErr: []string{"ca_file"}},
		{name: "client certificates need TLS on the leg they serve",
			body:    "version = 1\n[server]\ntls_client_ca_file = \"ca.crt\"\n[upstream]\ntls = \"disable\"\ntls_cert_file = \"a.crt\"\n",
			wantErr: []string{"server.tls_client_ca_file needs", "upstream.tls_cert_file and upstream.tls_key_file", "upstream.tls_cert_file needs"}},
		{name: "a duplicate encrypted column is rejected",
			body:    "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"email\"\ntype=\"text\"\n[[encrypt]]\ntable=\"public.users\"\ncolumn=\"email\"\ntype=\"text\"\n",
			wantErr: []string{"listed twice"}},
		{name: "an unknown search is rejected", body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"email\"\ntype=\"text\"\nsearch=[\"like\"]\n",
			wantErr: []string{"want \"eq\", \"ord\" or \"match\""}},
		{name: "ord needs its leakage acknowledged", body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"name\"\ntype=\"text\"\nsearch=[\"ord\"]\n",
			wantErr: []string{"accept_leakage = [\"ord\"]"}},
		{name: "match is for text only", body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"n\"\ntype=\"int4\"\nsearch=[\"match\"]\naccept_leakage=[\"match\"]\n",
			wantErr: []string{"needs one of the types text, varchar"}},
		{name: "text_order is for text ord columns", body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"n\"\ntype=\"int4\"\nsearch=[\"eq\"]\ntext_order=\"bytes\"\n",
			wantErr: []string{"text_order applies to a text column"}},
		{name: "ord_max_bytes is bounded", body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"n\"\ntype=\"text\"\nsearch=[\"ord\"]\naccept_leakage=[\"ord\"]\nord_max_bytes=500\n",
			wantErr: []string{"ord_max_bytes = 500"}},
		{name: "ord, match and their acknowledgement load",
			body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"name\"\ntype=\"text\"\nsearch=[\"eq\",\"ord\",\"match\"]\naccept_leakage=[\"ord\",\"match\"]\ntext_order=\"bytes\"\n",
			check: func(t *testing.T, c *Config) {
				e := c.Encrypt[0]
				if !e.HasEq() || !e.HasOrd() || !e.HasMatch() || e.OrdLimit() != DefaultOrdMaxBytes {
					t.Fatalf("searches = %v, OrdLimit %d", e.Search, e.OrdLimit())
				}
			}},
		{name: "an encrypted column may carry its declared type's modifiers",
			body: "version = 1\n[[encrypt]]\ntable=\"users\"\ncolumn=\"balance\"\ntype=\"numeric\"\nmodifiers=[12, 2]\n",
			check: func(t *testing.T, c *Config) {
				if got := c.Encrypt[0].Modifiers; len(got) != 2 || got[0] != 12 || got[1] != 2 {
					t.Fatalf("modifiers = %v, want [12 2]", got)
				}
			}},
		{name: "a syntax error names the line", body: "version = 1\n[server\n", wantErr: []string{"line ", "table name"}},
		{name: "the keyring state file defaults to the keyring file's path + .state", body: "version = 1\n[keyring]\npath = \"/k/ring.json\"\n",
			check: wantStatePath("/k/ring.json.state")},
		{name: "the keyring state file of the postgres store defaults to the working directory",
			body: "version = 1\n[keyring]\nstore = \"postgres\"\ndsn = \"postgres://x@db/x\"\n", check: wantStatePath(DefaultPostgresStatePath)},
		{name: "the keyring state file follows an overridden keyring path", body: "version = 1",
			env: map[string]string{"PGSEAL_KEYRING_PATH": "/e/k.json"}, check: wantStatePath("/e/k.json.state")},
		{name: "the environment overrides the keyring state file", body: "version = 1\n[keyring]\nstate_path = \"/a/s\"\n",
			env: map[string]string{"PGSEAL_KEYRING_STATE_PATH": "/b/s"}, check: wantStatePath("/b/s")},
		{name: "the keyring state file cannot be the keyring file", body: "version = 1\n[keyring]\npath = \"k.json\"\nstate_path = \"./k.json\"\n",
			wantErr: []string{"keyring.state_path"}},
		{name: "the keyring state file cannot be a directory", body: "version = 1\n[keyring]\nstate_path = \"/var/lib/\"\n",
			wantErr: []string{"keyring.state_path"}},
		{name: "the crypto suite defaults to empty (chacha20-poly1305, or aes-256-gcm in FIPS mode)", body: "version = 1",
			check: func(t *testing.T, c *Config) {
				if c.Crypto.Suite != "" {
					t.Fatalf("crypto.suite = %q, want empty", c.Crypto.Suite)
				}
			}},
		{name: "the crypto suite can be aes-256-gcm", body: "version = 1\n[crypto]\nsuite = \"aes-256-gcm\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Crypto.Suite != "aes-256-gcm" {
					t.Fatalf("crypto.suite = %q, want aes-256-gcm", c.Crypto.Suite)
				}
			}},
		{name: "the environment overrides the crypto suite", body: "version = 1\n[crypto]\nsuite = \"aes-256-gcm\"\n",
			env: map[string]string{"PGSEAL_CRYPTO_SUITE": "chacha20-poly1305"}, check: func(t *testing.T, c *Config) {
				if c.Crypto.Suite != "chacha20-poly1305" {
					t.Fatalf("crypto.suite = %q, want chacha20-poly1305", c.Crypto.Suite)
				}
			}},
		{name: "an unknown crypto suite is rejected on one line", body: "version = 1\n[crypto]\nsuite = \"aes-128-cbc\"\n",
			wantErr: []string{"crypto.suite", "aes-128-cbc", "aes-256-gcm", "chacha20-poly1305"}},
		{name: "sizes take units", body: "version = 1\n[server]\nmax_message_size = \"16MiB\"\n", check: func(t *testing.T, c *Config) {
			if c.Server.MaxMessageSize != 16<<20 {
				t.Fatalf("max_message_size = %d, want %d", c.Server.MaxMessageSize, 16<<20)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			cfg, err := Load(write(t, tt.body), getenv)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load() = nil error, want one mentioning %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load() error = %q, want it to mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() = %v, want nil", err)
			}
			tt.check(t, cfg)
		})
	}
}

func wantStatePath(want string) func(*testing.T, *Config) {
	return func(t *testing.T, c *Config) {
		t.Helper()
		if c.Keyring.StatePath != want {
			t.Fatalf("keyring.state_path = %q, want %q", c.Keyring.StatePath, want)
		}
	}
}
