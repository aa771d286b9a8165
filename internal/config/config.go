package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole of proxy.toml.
type Config struct {
	Version  int       `toml:"version"`
	Server   Server    `toml:"server"`
	Upstream Upstream  `toml:"upstream"`
	Keyring  Keyring   `toml:"keyring"`
	Crypto   Crypto    `toml:"crypto"`
	Tenancy  Tenancy   `toml:"tenancy"`
	Encrypt  []Encrypt `toml:"encrypt"`
	Log      Log       `toml:"log"`
	Metrics  Metrics   `toml:"metrics"`
}

// Server is where clients and operators connect.
type Server struct {
	Listen          string   `toml:"listen"`
	AdminListen     string   `toml:"admin_listen"`
	MaxConnections  int      `toml:"max_connections"`
	MaxMessageSize  Size     `toml:"max_message_size"`
	StartupTimeout  Duration `toml:"startup_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	TLSCertFile     string   `toml:"tls_cert_file"`
	TLSKeyFile      string   `toml:"tls_key_file"`
	// TLSClientCAFile verifies client certificates (see wire/clientcert.go).
	TLSClientCAFile string `toml:"tls_client_ca_file"`
}

// Upstream is the real PostgreSQL.
type Upstream struct {
	Address        string   `toml:"address"`
	TLS            string   `toml:"tls"`
	CAFile         string   `toml:"ca_file"`
	ServerName     string   `toml:"server_name"`
	ConnectTimeout Duration `toml:"connect_timeout"`
	// TLSCertFile/TLSKeyFile: pgseal's client certificate, presented only for clients that
	// logged in with a verified certificate of their own (see wire/clientcert.go).
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
}

// Keyring says where keysets live and how their master key is found.
type Keyring struct {
	Store         string `toml:"store"`
	Path          string `toml:"path"`
	DSN           string `toml:"dsn"`
	MasterKeyEnv  string `toml:"master_key_env"`
	MasterKeyFile string `toml:"master_key_file"`
	// MasterKey names a key in a key management service (aws-kms://…, see internal/kms); the
	// master key is then a data key it generated, kept only wrapped, in MasterKeyWrappedFile,
	// and master_key_env/master_key_file are not used. KMSEndpoint overrides the service's
	// endpoint (a local implementation, a VPC endpoint).
	MasterKey            string `toml:"master_key"`
	MasterKeyWrappedFile string `toml:"master_key_wrapped_file"`
	KMSEndpoint          string `toml:"kms_endpoint"`
	// StatePath is the keyring state file: the newest epoch (and document MAC) this host has
	// accepted, so that an older keyring is refused after a restart too. Load defaults it (see
	// defaultStatePath); empty (only when built without Load) keeps the guard in memory.
	StatePath string `toml:"state_path"`
}

// Crypto chooses how new values are encrypted.
type Crypto struct {
	// Suite is the envelope suite new values are written with: "aes-256-gcm" or
	// "chacha20-poly1305". Empty means the default: chacha20-poly1305, or aes-256-gcm when Go's
	// FIPS 140-3 mode is on (GODEBUG=fips140=on), where chacha20-poly1305 is refused. Values of
	// every suite stay readable; proxy reencrypt moves old ones to this suite.
	Suite string `toml:"suite"`
}

// Tenancy says how a session picks its keyset.
type Tenancy struct {
	Setting string `toml:"setting"`
	Mode    string `toml:"mode"`
}

// Encrypt is one encrypted column.
type Encrypt struct {
	Table  string   `toml:"table"`
	Column string   `toml:"column"`
	Type   string   `toml:"type"`
	Search []string `toml:"search"`
	Domain string   `toml:"domain"`
	// Modifiers are the declared type's modifiers, as in the plaintext DDL: varchar(120) → [120],
	// numeric(12,2) → [12, 2], timestamptz(3) → [3]. Optional; catalog introspection through the
	// proxy shows them (the stored column is bytea, which has none). A varchar length is enforced on
	// writes through the proxy (value.FitChars); numeric and timestamp modifiers are shown only.
	Modifiers []int `toml:"modifiers"`
	// AcceptLeakage acknowledges what the "ord" and "match" searches reveal to whoever reads the
	// database (README, "Range, ORDER BY and LIKE"): it must name each of them the column has.
	AcceptLeakage []string `toml:"accept_leakage"`
	// TextOrder = "bytes" accepts that ord on a text column orders by bytes (COLLATE "C"): without
	// it, range comparisons and ORDER BY on the column are refused unless written COLLATE "C".
	TextOrder string `toml:"text_order"`
	// OrdMaxBytes bounds the canonical length of a text or numeric value that an ord column
	// accepts (default 64, at most 128): the term grows with the value and must fit a btree
	// entry. Longer values are refused on write, so every stored value has a whole term.
	OrdMaxBytes int `toml:"ord_max_bytes"`
}

// Log configures zap.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// Metrics configures /metrics.
type Metrics struct {
	// KeysetLabels adds the keyset name as a label on per-keyset counters; off by default because
	// tenant names can be sensitive and unbounded.
	KeysetLabels bool `toml:"keyset_labels"`
}

// Upstream TLS modes, as libpq's sslmode.
const (
	TLSDisable    = "disable"
	TLSPrefer     = "prefer"
	TLSRequire    = "require"
	TLSVerifyFull = "verify-full"
)

// Default is the configuration used when a key is absent.
func Default() *Config {
	return &Config{
		Version: 1,
		Server: Server{
			Listen:          "127.0.0.1:6432",
			AdminListen:     "127.0.0.1:9930",
			MaxConnections:  1000,
			MaxMessageSize:  256 << 20,
			StartupTimeout:  Duration(10 * time.Second),
			ShutdownTimeout: Duration(30 * time.Second),
		},
		Upstream: Upstream{Address: "127.0.0.1:5432", TLS: TLSPrefer, ConnectTimeout: Duration(5 * time.Second)},
		Keyring:  Keyring{Store: "file", Path: "keyring.json", MasterKeyEnv: "PGSEAL_MASTER_KEY"},
		Tenancy:  Tenancy{Setting: "app.tenant", Mode: "multi"},
		Log:      Log{Level: "info", Format: "auto"},
	}
}

// Load reads path (strictly), applies environment overrides from getenv (os.Getenv when nil) and
// validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Default()
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, cleanTOMLError(err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	if err := applyEnv(cfg, getenv); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.Keyring.StatePath = defaultStatePath(cfg.Keyring)
	if cfg.Keyring.MasterKey != "" && cfg.Keyring.MasterKeyWrappedFile == "" {
		cfg.Keyring.MasterKeyWrappedFile = strings.TrimSuffix(cfg.Keyring.StatePath, ".state") + ".master.json"
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// DefaultPostgresStatePath is keyring.state_path's default with store = "postgres": relative to
// the working directory (/var/lib/pgseal in the container image), one per proxy host.
const DefaultPostgresStatePath = "keyring.state"

// defaultStatePath derives keyring.state_path when it is not set: "<path>.state" next to a file
// keyring, DefaultPostgresStatePath for the postgres store. It depends on other keys (and their
// environment overrides), so it is applied after them rather than in Default.
func defaultStatePath(k Keyring) string {
	switch {
	case k.StatePath != "":
		return k.StatePath
	case k.Store == "file" && k.Path != "":
		return k.Path + ".state"
	case k.Store == "postgres":
		return DefaultPostgresStatePath
	}
	return ""
}

func cleanTOMLError(err error) error {
	var perr toml.ParseError
	if errors.As(err, &perr) {
		return fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
	}
	return err
}

// applyEnv overrides scalar keys of each section from PGSEAL_<SECTION>_<KEY>.
func applyEnv(cfg *Config, getenv func(string) string) error {
	var errs []error
	root := reflect.ValueOf(cfg).Elem()
	for i := 0; i < root.NumField(); i++ {
		sec := root.Field(i)
		if sec.Kind() != reflect.Struct {
			continue
		}
		secName := tomlName(root.Type().Field(i))
		for j := 0; j < sec.NumField(); j++ {
			key := tomlName(sec.Type().Field(j))
			env := "PGSEAL_" + strings.ToUpper(secName+"_"+key)
			v := getenv(env)
			if v == "" {
				continue
			}
			if err := setScalar(sec.Field(j), v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	}
	return errors.Join(errs...)
}

func tomlName(f reflect.StructField) string { return strings.Split(f.Tag.Get("toml"), ",")[0] }

func setScalar(f reflect.Value, v string) error {
	if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(v))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(v)
	case reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not a whole number")
		}
		f.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("not true or false")
		}
		f.SetBool(b)
	case reflect.Slice:
		f.Set(reflect.ValueOf(strings.Split(v, ",")))
	default:
		return errors.New("cannot be set from the environment")
	}
	return nil
}
