package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/tenancy"
	"github.com/pgseal/pgseal/internal/wire"
)

// CheckKeyset is the name of the throwaway keyring's keyset the check's session selects.
const CheckKeyset = "pgseal-check"

// session is one interceptor session of serving's encryption interceptor, opened over the check's
// read-only connection.
type session struct {
	ctx  context.Context
	conn *pgx.Conn
	si   wire.SessionInterceptor
	kr   *keyring.Keyring
	dir  string // the throwaway keyring's directory

	// simulate reads the configured columns as bytea in the catalog (Options.Live off); pending
	// collects the configured columns that were not bytea, by column id.
	simulate   bool
	catalogSQL string
	confCols   map[string]bool // "schema.table.column" configured, lower case
	pending    map[string]bool
}

// throwawayKeyring makes a keyring in a new temporary directory, with a random master key and one
// keyset granted to client. The caller removes dir after closing the keyring.
func throwawayKeyring(ctx context.Context, cfg *config.Config, client string, tenants []string) (kr *keyring.Keyring, dir string, err error) {
	dir, err = os.MkdirTemp("", "pgseal-check-")
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	master := crypto.RandomSecret()
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(dir, "keyring.json")}
	store, err := keyring.OpenStore(ctx, kcfg, master)
	if err != nil {
		return nil, "", err
	}
	m := keyring.NewManager(store, master)
	if _, err = m.Init(ctx); err == nil {
		_, err = m.CreateKeyset(ctx, CheckKeyset, "proxy check (throwaway)")
	}
	if err == nil {
		_, err = m.CreateClient(ctx, client, true)
	}
	if err == nil {
		err = m.Grant(ctx, CheckKeyset, client)
	}
	for _, name := range tenants {
		if err != nil {
			break
		}
		if keyring.ValidKeysetName(name) != nil || name == CheckKeyset || name == keyring.DefaultKeysetName {
			continue
		}
		if _, err = m.CreateKeyset(ctx, name, "proxy check (throwaway)"); err == nil {
			err = m.Grant(ctx, name, client)
		}
	}
	if err != nil {
		store.Close()
		return nil, "", err
	}
	kr, err = keyring.New(ctx, store, master, zap.NewNop(), keyring.WithSuiteName(cfg.Crypto.Suite))
	if err != nil {
		return nil, "", err
	}
	return kr, dir, nil
}

// tenantParam is the startup parameter that selects the check's keyset, as a session of the
// application would: the tenancy setting, else pgseal.keyset.
func tenantParam(cfg *config.Config) string {
	if s := strings.ToLower(cfg.Tenancy.Setting); s != "" {
		return s
	}
	return tenancy.KeysetSetting
}

// connect opens the check's connection: read-only by default_transaction_read_only, verified.
func connect(ctx context.Context, cfg *config.Config, dsn string) (*pgx.Conn, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("--dsn: %w", err)
	}
	pc.RuntimeParams["default_transaction_read_only"] = "on"
	pc.RuntimeParams["application_name"] = "pgseal check"
	pc.RuntimeParams[tenantParam(cfg)] = CheckKeyset
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to --dsn: %w", err)
	}
	var ro string
	if err := conn.QueryRow(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil || ro != "on" {
		conn.Close(context.Background())
		if err == nil {
			err = fmt.Errorf("transaction_read_only is %q", ro)
		}
		return nil, fmt.Errorf("the check's connection is not read-only: %w", err)
	}
	return conn, nil
}

// serverParams are the ParameterStatus values a session hands the interceptor.
var serverParams = []string{"server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
	"TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name", "is_superuser",
	"session_authorization", "in_hot_standby", "default_transaction_read_only"}

// openSession opens serving's interceptor over conn.
func openSession(ctx context.Context, cfg *config.Config, conn *pgx.Conn, live bool, tenants []string, log *zap.Logger) (*session, error) {
	var user, db string
	if err := conn.QueryRow(ctx, "SELECT session_user, current_database()").Scan(&user, &db); err != nil {
		return nil, fmt.Errorf("read the session's role: %w", err)
	}
	kr, dir, err := throwawayKeyring(ctx, cfg, user, tenants)
	if err != nil {
		return nil, fmt.Errorf("throwaway keyring: %w", err)
	}
	s := &session{ctx: ctx, conn: conn, kr: kr, dir: dir, simulate: !live, pending: map[string]bool{}, confCols: map[string]bool{}}
	s.catalogSQL = catalog.Query(catalog.Tables(cfg.Encrypt))
	for _, e := range cfg.Encrypt {
		s.confCols[strings.ToLower(e.QualifiedTable()+"."+e.Column)] = true
	}
	icpt, err := seal.New(cfg, kr, log, nil)
	if err != nil {
		s.close()
		return nil, err
	}
	params := map[string]string{tenantParam(cfg): CheckKeyset, "application_name": "pgseal check"}
	sp := map[string]string{}
	for _, k := range serverParams {
		if v := conn.PgConn().ParameterStatus(k); v != "" {
			sp[k] = v
		}
	}
	info := &wire.SessionInfo{
		RemoteAddr:       "proxy check",
		User:             user,
		Database:         db,
		Parameters:       params,
		ServerParams:     sp,
		Exec:             s.exec,
		ExecEach:         s.execEach,
		TxStatus:         func() byte { return conn.PgConn().TxStatus() },
		ForgetStatements: func(bool, string) {},
	}
	if s.si, err = icpt.Open(info); err != nil {
		s.close()
		return nil, fmt.Errorf("open a pgseal session: %w", err)
	}
	if s.si == nil {
		s.close()
		return nil, errors.New("open a pgseal session: the interceptor relays the session untouched")
	}
	return s, nil
}

func (s *session) close() {
	if s.kr != nil {
		s.kr.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// exec runs one simple query (maybe several statements) on the read-only connection and returns
// the rows of all its results, with the first error; the rows read before an error are returned
// with it (a refused LISTEN after the tenancy query).
func (s *session) exec(sql string) ([][][]byte, error) {
	results, err := s.conn.PgConn().Exec(s.ctx, sql).ReadAll()
	var rows [][][]byte
	for _, r := range results {
		rows = append(rows, r.Rows...)
		if r.Err != nil && err == nil {
			err = r.Err
		}
	}
	if s.simulate && strings.HasSuffix(sql, s.catalogSQL) {
		s.asEncrypted(rows)
	}
	return rows, err
}

func (s *session) execEach(sqls ...string) ([][][]byte, error) {
	var rows [][][]byte
	var first error
	for _, q := range sqls {
		r, err := s.exec(q)
		rows = append(rows, r...)
		if err != nil && first == nil {
			first = err
		}
	}
	return rows, first
}

// asEncrypted marks the catalog rows (catalog.Row) of configured columns, in their configured
// tables and those tables' descendants, as bytea: the check analyses the planned configuration,
// as serving will once `proxy encrypt` converted them.
func (s *session) asEncrypted(rows [][][]byte) {
	names := map[string]string{} // table oid -> "schema.table"
	for _, r := range rows {
		if len(r) == catalog.Fields && string(r[0]) == "c" {
			names[string(r[3])] = strings.ToLower(string(r[1]) + "." + string(r[2]))
		}
	}
	for _, r := range rows {
		if len(r) != catalog.Fields || string(r[0]) != "c" || string(r[8]) == "t" {
			continue
		}
		id := names[string(r[4])] + "." + strings.ToLower(string(r[6]))
		if s.confCols[id] {
			r[8] = []byte("t")
			s.pending[id] = true
		}
	}
}

// analyse runs one statement through the interceptor as a session would send it, then answers
// the ReadyForQuery its Sync (or Query) asks for, so the session's bookkeeping is back to idle
// for the next statement.
func (s *session) analyse(st Statement) wire.Verdict {
	if st.Proto == ProtoParse {
		v := s.si.Request(&pgproto3.Parse{Query: st.SQL}, wire.Named{})
		s.si.Request(&pgproto3.Sync{}, wire.Named{})
		s.ready(nil)
		return v
	}
	v := s.si.Request(&pgproto3.Query{String: st.SQL}, wire.Named{})
	s.ready(v.Plan)
	for _, x := range v.After {
		s.extra(x)
	}
	return v
}

// extra runs a Query the interceptor adds behind a client's Query (Verdict.After: its LISTEN
// again after a DISCARD ALL or UNLISTEN, and the catalog marker), as the relay would: on the
// read-only connection, its answers handed to Response with the extra's Plan. Without it the
// session would wait for those answers forever and refuse the statements after it.
func (s *session) extra(x wire.Extra) {
	q, ok := x.Msg.(*pgproto3.Query)
	if !ok {
		return
	}
	results, _ := s.conn.PgConn().Exec(s.ctx, q.String).ReadAll()
	for _, r := range results {
		for _, row := range r.Rows {
			_, _ = s.si.Response(x.Plan, &pgproto3.DataRow{Values: row})
		}
		if r.Err != nil {
			e := &pgproto3.ErrorResponse{Severity: "ERROR", Code: "XX000", Message: r.Err.Error()}
			var pe *pgconn.PgError
			if errors.As(r.Err, &pe) {
				e.Code, e.Message = pe.Code, pe.Message
			}
			_, _ = s.si.Response(x.Plan, e)
			continue
		}
		_, _ = s.si.Response(x.Plan, &pgproto3.CommandComplete{CommandTag: []byte(r.CommandTag.String())})
	}
	_, _ = s.si.Response(x.Plan, &pgproto3.ReadyForQuery{TxStatus: s.conn.PgConn().TxStatus()})
}

func (s *session) ready(plan wire.Plan) {
	_, _ = s.si.Response(plan, &pgproto3.ReadyForQuery{TxStatus: 'I'})
}

// tenantsOf returns the keyset names the statements select with a constant (SET of the tenancy
// setting or pgseal.keyset, set_config with a constant): the throwaway keyring has a keyset of
// each, granted, so that a statement is not refused only because the check cannot know the
// production keyring's grants.
func tenantsOf(cfg *config.Config, stmts []Statement) []string {
	schema := rewrite.NewSchema()
	setting := strings.ToLower(cfg.Tenancy.Setting)
	schema.TrackedSettings = []string{setting, tenancy.KeysetSetting}
	seen := map[string]bool{}
	var out []string
	for _, st := range stmts {
		if !strings.Contains(strings.ToLower(st.SQL), "set") {
			continue
		}
		plan, err := rewrite.Analyze(st.SQL, schema)
		if err != nil {
			continue
		}
		for _, s := range plan.Statements {
			for _, c := range s.Settings {
				if (c.Name == setting && setting != "" || c.Name == tenancy.KeysetSetting) && c.Value != "" && !seen[c.Value] {
					seen[c.Value] = true
					out = append(out, c.Value)
				}
			}
		}
	}
	return out
}
