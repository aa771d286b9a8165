package seal

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/tenancy"
	"github.com/pgseal/pgseal/internal/wire"
)

// Tunables of the encryption interceptor.
const (
	// catalogMaxAge: a session starting later than this after its database's catalog was read
	// reads it again (another tool may have changed the schema without this proxy seeing DDL).
	catalogMaxAge = 5 * time.Second
	// planCacheSize bounds the Analyze cache (entries); planCacheMaxSQL skips caching huge texts.
	planCacheSize   = 4096
	planCacheMaxSQL = 8 << 10
)

// Sealer is the encryption wire.Interceptor: one per Server, shared by every session. It holds the
// keyring, the catalog of each database and the plan cache.
type Sealer struct {
	cfg    *config.Config
	kr     *keyring.Keyring
	log    *zap.Logger
	m      *metrics.Metrics
	policy tenancy.Policy
	tables []string // lower-case configured table names, for the stale-catalog check
	// catalogSQL reads the catalog marker (notify.go), then the catalog: the marker is never
	// newer than the catalog read with it.
	catalogSQL, markerSQL string

	cats   catalogCache
	plans  *planCache
	warned sync.Map // database+column id (or "listen"+database) -> struct{}: warned about once
	// encrypted: database+column id -> struct{} for every configured column a shared catalog read
	// found bytea since the proxy started (catalog.go).
	encrypted sync.Map

	encSeconds, decSeconds prometheus.Observer
	hit, miss              prometheus.Counter
}

// ForConfig is the Interceptor for cfg: nil (a pure relay) when no [[encrypt]] columns are
// configured, else New's Sealer. A nil log or m takes a no-op logger or fresh metrics.
func ForConfig(cfg *config.Config, kr *keyring.Keyring, log *zap.Logger, m *metrics.Metrics) (wire.Interceptor, error) {
	if len(cfg.Encrypt) == 0 {
		return nil, nil
	}
	sl, err := New(cfg, kr, log, m)
	if err != nil {
		return nil, err
	}
	return sl, nil
}

// New builds the encryption interceptor for cfg's [[encrypt]] columns over the keyring kr (a nil
// log or m takes a no-op logger or fresh metrics).
func New(cfg *config.Config, kr *keyring.Keyring, log *zap.Logger, m *metrics.Metrics) (*Sealer, error) {
	if kr == nil {
		return nil, errors.New("seal: [[encrypt]] columns are configured but no keyring was given")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = metrics.New()
	}
	mode := cfg.Tenancy.Mode
	if mode == "" {
		mode = tenancy.ModeMulti
	}
	sl := &Sealer{cfg: cfg, kr: kr, log: log, m: m, policy: tenancy.Policy{Setting: strings.ToLower(cfg.Tenancy.Setting), Mode: mode},
		plans: newPlanCache(planCacheSize)}
	seen := map[string]bool{}
	for _, e := range cfg.Encrypt {
		_, name, _ := strings.Cut(strings.ToLower(e.QualifiedTable()), ".")
		if !seen[name] {
			seen[name] = true
			sl.tables = append(sl.tables, name)
		}
	}
	sl.markerSQL = catalog.MarkerQuery(catalog.Tables(cfg.Encrypt))
	sl.catalogSQL = sl.markerSQL + ";\n" + catalog.Query(catalog.Tables(cfg.Encrypt))
	sl.encSeconds = m.CryptoSeconds.WithLabelValues("encrypt")
	sl.decSeconds = m.CryptoSeconds.WithLabelValues("decrypt")
	sl.hit = m.AnalyzeCache.WithLabelValues("hit")
	sl.miss = m.AnalyzeCache.WithLabelValues("miss")
	return sl, nil
}

// Session implements wire.Interceptor; the Sealer always opens sessions through Open.
func (sl *Sealer) Session(*wire.SessionInfo) wire.SessionInterceptor { return nil }

// Open implements wire.SessionOpener: it loads (or reuses) the catalog of the session's database over
// the session's own connection and seeds the session's settings.
func (sl *Sealer) Open(info *wire.SessionInfo) (wire.SessionInterceptor, error) {
	rows, err := sl.listenAfter(info, sl.tenancySQL())
	if err != nil {
		return nil, err
	}
	seed, err := sl.tenancySeed(rows)
	if err != nil {
		return nil, err
	}
	ent := sl.cats.get(info.Database)
	if ent == nil || time.Since(ent.loaded) > catalogMaxAge {
		var err error
		if ent, err = sl.loadCatalog(info); err != nil {
			return nil, err
		}
	}
	return newSealSession(sl, info, ent, seed), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// parseWords are words whose statements the session must see parsed even when they name no
// encrypted table: savepoint names (tenancy follows SAVEPOINT/RELEASE/ROLLBACK TO) and
// DEALLOCATE (forget a prepared statement), FETCH (rows of a cursor on encrypted columns).
var parseWords = []string{"savepoint", "release", "rollback", "deallocate", "fetch"}

// prepareSchema adds what the session needs of every analysis to a freshly built Schema: the
// parseWords, and the settings pgseal tracks (the tenancy setting, pgseal.keyset and the lexical
// settings), which function and DO bodies may not name (rewrite/body.go).
func (sl *Sealer) prepareSchema(s *rewrite.Schema) {
	s.ParseWords = append(s.ParseWords, parseWords...)
	s.TrackedSettings = append(s.TrackedSettings, strings.ToLower(sl.cfg.Tenancy.Setting),
		"pgseal.keyset", "client_encoding", "standard_conforming_strings", "search_path")
}

// catalogEntry is one database's catalog, immutable once published.
type catalogEntry struct {
	info         *catalog.Info
	cols         map[*rewrite.Column]*column.Column // every encrypted column of info, built once
	shadowTables []string                           // tables with a migration shadow column (shadow.go)
	version      uint64                             // unique across databases and reloads: part of the plan cache key
	loaded       time.Time
	private      bool   // read inside the session's transaction block: never shared (catalog.go)
	marker       string // catalog.MarkerQuery's value, read just before info (notify.go)
	// fastMarkerSQL computes marker again over the tree it was read with
	// (catalog.FastMarkerQuery); "" without one.
	fastMarkerSQL string
}

// catalogCache holds the newest catalog per database. Every statement of every session reads it,
// so reads take no lock: the map is replaced, never changed, by put.
type catalogCache struct {
	mu   sync.Mutex // serialises put
	byDB atomic.Pointer[map[string]*catalogEntry]
	next uint64
}

func (c *catalogCache) get(db string) *catalogEntry {
	if m := c.byDB.Load(); m != nil {
		return (*m)[db]
	}
	return nil
}

func (c *catalogCache) put(db string, info *catalog.Info, rm readMarker) *catalogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	e := &catalogEntry{info: info, cols: entryColumns(info), shadowTables: shadowTablesOf(info), version: c.next, loaded: time.Now(), marker: rm.value, fastMarkerSQL: rm.fastSQL}
	m := map[string]*catalogEntry{db: e}
	if old := c.byDB.Load(); old != nil {
		for k, v := range *old {
			if k != db {
				m[k] = v
			}
		}
	}
	c.byDB.Store(&m)
	return e
}

// private returns an entry for one session only: it gets a version of its own (plans analysed
// under it are cached apart) but is not published.
func (c *catalogCache) private(info *catalog.Info, m readMarker) *catalogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return &catalogEntry{info: info, cols: entryColumns(info), shadowTables: shadowTablesOf(info), version: c.next, loaded: time.Now(), private: true, marker: m.value, fastMarkerSQL: m.fastSQL}
}

// analyze returns the plan of sql under the catalog. A text the prefilter skips costs nothing to
// analyse and is not cached. Otherwise the cache is asked by text, then by shape: simple-protocol
// texts differ only in their literals, and a rewrite.Template makes their plans without parsing.
func (sl *Sealer) analyze(ent *catalogEntry, sql string) (*rewrite.Plan, error) {
	schema := ent.info.Schema
	if !rewrite.MayMatter(sql, schema) {
		return &rewrite.Plan{SQL: sql}, nil
	}
	key := planKey{version: ent.version, sql: sql}
	if p, err, ok := sl.plans.get(key); ok {
		sl.hit.Inc()
		return p, err
	}
	if len(sql) > planCacheMaxSQL {
		sl.miss.Inc()
		return rewrite.Analyze(sql, schema)
	}
	sh, shaped := rewrite.ShapeOf(sql)
	skey := planKey{version: ent.version, sql: sh.Key, shape: true}
	if shaped {
		t, known := sl.plans.template(skey)
		if t != nil {
			sl.hit.Inc()
			return t.Plan(sql, sh), nil
		}
		shaped = !known // a shape known to have no template: cache by text
	}
	sl.miss.Inc()
	p, err := rewrite.Analyze(sql, schema)
	if shaped && err == nil {
		t, _ := rewrite.NewTemplate(p, sh, schema)
		sl.plans.putTemplate(skey, t)
	}
	// By text too: the same text may well come again (extended protocol); later texts of a
	// templated shape are not cached by text.
	sl.plans.put(key, p, err)
	return p, err
}
