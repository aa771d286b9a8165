package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
)

// Searches an [[encrypt]] entry may ask for.
const (
	SearchEq    = "eq"    // equality: =, <>, IN, joins, GROUP BY, UNIQUE
	SearchOrd   = "ord"   // order: <, <=, >, >=, BETWEEN, ORDER BY, min/max
	SearchMatch = "match" // LIKE, ILIKE, NOT LIKE (with an exact filter in pgseal)
)

// OrdTypes are the plaintext types "ord" supports; MatchTypes those "match" supports.
var (
	OrdTypes   = []string{"int2", "int4", "int8", "numeric", "float4", "float8", "date", "timestamp", "timestamptz", "text", "varchar"}
	MatchTypes = []string{"text", "varchar"}
)

// Bounds of ord_max_bytes: 128 bytes of text make a term of ≈ 2.3 KB, near btree's limit of
// about a third of a page.
const (
	DefaultOrdMaxBytes = 64
	MaxOrdMaxBytes     = 128
)

// Validate reports every problem in c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Version != 1 {
		bad("version = %d: only version 1 is known", c.Version)
	}
	checkAddr := func(key, v string, required bool) {
		if v == "" && !required {
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad("%s = %q: want host:port", key, v)
		}
	}
	checkAddr("server.listen", c.Server.Listen, true)
	checkAddr("server.admin_listen", c.Server.AdminListen, false)
	checkAddr("upstream.address", c.Upstream.Address, true)
	if c.Server.MaxConnections < 1 {
		bad("server.max_connections = %d: must be at least 1", c.Server.MaxConnections)
	}
	if c.Server.MaxMessageSize < 1024 {
		bad("server.max_message_size = %d: must be at least 1024 bytes", c.Server.MaxMessageSize)
	}
	c.validateTLS(bad)
	c.validateKeyring(bad)
	if err := CheckSuite(c.Crypto.Suite); err != nil {
		bad("crypto.suite: %v", err)
	}
	switch c.Tenancy.Mode {
	case "multi", "single":
	default:
		bad("tenancy.mode = %q: want multi or single", c.Tenancy.Mode)
	}
	if c.Tenancy.Setting == "" || !strings.Contains(c.Tenancy.Setting, ".") {
		bad("tenancy.setting = %q: want a custom setting name with a dot, like app.tenant", c.Tenancy.Setting)
	}
	c.validateEncrypt(bad)
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		bad("log.format = %q: want auto, json or console", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level = %q: want debug, info, warn or error", c.Log.Level)
	}
	return errors.Join(errs...)
}

func (c *Config) validateKeyring(bad func(string, ...any)) {
	switch c.Keyring.Store {
	case "file":
		if c.Keyring.Path == "" {
			bad("keyring.path is required with keyring.store = \"file\"")
		}
	case "postgres":
		if c.Keyring.DSN == "" {
			bad("keyring.dsn is required with keyring.store = \"postgres\"")
		}
	default:
		bad("keyring.store = %q: want file or postgres", c.Keyring.Store)
	}
	if c.Keyring.StatePath != "" && c.Keyring.Store == "file" && filepath.Clean(c.Keyring.StatePath) == filepath.Clean(c.Keyring.Path) {
		bad("keyring.state_path = %q: must not be the keyring file itself", c.Keyring.StatePath)
	}
	if strings.HasSuffix(c.Keyring.StatePath, "/") {
		bad("keyring.state_path = %q: want a file, not a directory", c.Keyring.StatePath)
	}
	switch k := c.Keyring; {
	case k.MasterKey != "":
		if scheme, rest, ok := strings.Cut(k.MasterKey, "://"); !ok || scheme == "" || rest == "" {
			bad("keyring.master_key = %q: want a key URI such as aws-kms://alias/pgseal", k.MasterKey)
		}
		if k.MasterKeyFile != "" {
			bad("keyring: master_key and master_key_file exclude each other")
		}
		if k.MasterKeyWrappedFile == "" {
			bad("keyring.master_key needs master_key_wrapped_file")
		}
	case k.MasterKeyEnv == "" && k.MasterKeyFile == "":
		bad("keyring: set master_key_env, master_key_file or master_key")
	}
}

func (c *Config) validateEncrypt(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, e := range c.Encrypt {
		where := fmt.Sprintf("encrypt[%d]", i)
		if e.Table == "" || e.Column == "" || e.Type == "" {
			bad("%s: table, column and type are required", where)
			continue
		}
		key := strings.ToLower(e.QualifiedTable() + "." + e.Column)
		if seen[key] {
			bad("%s: %s is listed twice", where, key)
		}
		seen[key] = true
		e.validateSearch(where, bad)
	}
}

// validateSearch checks search, accept_leakage, text_order and ord_max_bytes of one entry.
func (e Encrypt) validateSearch(where string, bad func(string, ...any)) {
	typ := strings.ToLower(e.Type)
	for _, s := range e.Search {
		switch s {
		case SearchEq:
		case SearchOrd, SearchMatch:
			types := OrdTypes
			if s == SearchMatch {
				types = MatchTypes
			}
			if !slices.Contains(types, typ) {
				bad("%s: search %q needs one of the types %s, not %q", where, s, strings.Join(types, ", "), e.Type)
			}
			if !slices.Contains(e.AcceptLeakage, s) {
				bad("%s: search %q reveals more than equality (README, \"Range, ORDER BY and LIKE\"): acknowledge it with accept_leakage = [\"%s\"]", where, s, s)
			}
		default:
			bad("%s: search %q: want \"eq\", \"ord\" or \"match\"", where, s)
		}
	}
	for _, l := range e.AcceptLeakage {
		if l != SearchOrd && l != SearchMatch {
			bad("%s: accept_leakage %q: want \"ord\" or \"match\"", where, l)
		}
	}
	if e.Domain != "" && len(e.Search) == 0 {
		bad("%s: domain needs a search (eq, ord or match)", where)
	}
	switch e.TextOrder {
	case "":
	case "bytes":
		if !e.HasOrd() || (typ != "text" && typ != "varchar") {
			bad("%s: text_order applies to a text column with search \"ord\"", where)
		}
	default:
		bad("%s: text_order = %q: want \"bytes\"", where, e.TextOrder)
	}
	if e.OrdMaxBytes != 0 && (e.OrdMaxBytes < 1 || e.OrdMaxBytes > MaxOrdMaxBytes || !e.HasOrd()) {
		bad("%s: ord_max_bytes = %d: want 1..%d, on a column with search \"ord\"", where, e.OrdMaxBytes, MaxOrdMaxBytes)
	}
}

// QualifiedTable is the table name with its schema ("public" when none is given).
func (e Encrypt) QualifiedTable() string {
	if strings.Contains(e.Table, ".") {
		return e.Table
	}
	return "public." + e.Table
}

// ColumnID is the column's stable id, "schema.table.column" in lower case: the name its column
// keys are derived under (catalog and migrate both use this one rule).
func (e Encrypt) ColumnID() string {
	return strings.ToLower(e.QualifiedTable()) + "." + strings.ToLower(e.Column)
}

// TermDomain is the column's equality-term domain: the declared domain, else its ColumnID.
func (e Encrypt) TermDomain() string {
	if e.Domain != "" {
		return e.Domain
	}
	return e.ColumnID()
}

// HasEq says whether the column has equality search.
func (e Encrypt) HasEq() bool { return slices.Contains(e.Search, SearchEq) }

// HasOrd says whether the column has order search.
func (e Encrypt) HasOrd() bool { return slices.Contains(e.Search, SearchOrd) }

// HasMatch says whether the column has LIKE search.
func (e Encrypt) HasMatch() bool { return slices.Contains(e.Search, SearchMatch) }

// OrdLimit is ord_max_bytes, or its default.
func (e Encrypt) OrdLimit() int {
	if e.OrdMaxBytes > 0 {
		return e.OrdMaxBytes
	}
	return DefaultOrdMaxBytes
}

// validateTLS checks the TLS keys of both legs.
func (c *Config) validateTLS(bad func(string, ...any)) {
	if (c.Server.TLSCertFile == "") != (c.Server.TLSKeyFile == "") {
		bad("server.tls_cert_file and server.tls_key_file go together")
	}
	if c.Server.TLSClientCAFile != "" && c.Server.TLSCertFile == "" {
		bad("server.tls_client_ca_file needs server.tls_cert_file and server.tls_key_file")
	}
	if (c.Upstream.TLSCertFile == "") != (c.Upstream.TLSKeyFile == "") {
		bad("upstream.tls_cert_file and upstream.tls_key_file go together")
	}
	if c.Upstream.TLSCertFile != "" && c.Upstream.TLS == TLSDisable {
		bad("upstream.tls_cert_file needs upstream.tls other than \"disable\"")
	}
	switch c.Upstream.TLS {
	case TLSDisable, TLSPrefer, TLSRequire:
	case TLSVerifyFull:
		if c.Upstream.CAFile == "" {
			bad("upstream.tls = \"verify-full\" needs upstream.ca_file")
		}
	default:
		bad("upstream.tls = %q: want disable, prefer, require or verify-full", c.Upstream.TLS)
	}
}
