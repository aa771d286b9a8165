package leaks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// sqlCase is one attack: statements sent through pgseal in one session, after which the marker
// must be in neither the server log nor the database, and every users row must be sealed under its
// tenant's keyset. A refusal by pgseal passes; so does ciphertext at rest.
type sqlCase struct {
	name   string
	user   string            // "" = app_a
	tenant string            // app.tenant at startup; "" = acme, "-" = none
	params map[string]string // startup parameters instead of the tenant's
	setup  []string          // sent straight to PostgreSQL as the superuser first; DB = the database
	sqls   []string          // sent through pgseal one Query each; MK = the marker
	copyIn []copyStep        // COPY … FROM STDIN after sqls
	run    func(t *testing.T, c *pgx.Conn, mk string)
}

type copyStep struct{ sql, data string }

func (e *env) runCase(t *testing.T, sc sqlCase) {
	t.Helper()
	db := e.caseDB(t)
	mk := newMarker()
	if len(sc.setup) > 0 {
		d := direct(t, db)
		for _, s := range sc.setup {
			if err := exec(t, d, strings.ReplaceAll(s, "DB", db.Name)); err != nil {
				t.Fatalf("setup %q: %v", s, err)
			}
		}
	}
	user, params := sc.user, sc.params
	if user == "" {
		user = roleA
	}
	if params == nil {
		switch sc.tenant {
		case "":
			params = tenantParams("acme")
		case "-":
		default:
			params = tenantParams(sc.tenant)
		}
	}
	c, err := e.dial(t, db, user, params)
	if err != nil {
		t.Logf("connect as %s %v\n\t→ %v", user, params, err)
	} else {
		steps(t, c, mk, sc.sqls...)
		for _, cp := range sc.copyIn {
			if c.IsClosed() {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := c.PgConn().CopyFrom(ctx, strings.NewReader(withMarker(cp.data, mk)), withMarker(cp.sql, mk))
			cancel()
			if err != nil {
				t.Logf("%s\n\t→ %v", cp.sql, err)
			}
		}
		if sc.run != nil && !c.IsClosed() {
			sc.run(t, c, mk)
		}
	}
	assertNoLeak(t, db, mk)
	e.assertTenantKeysets(t, db)
}

func (e *env) runCases(t *testing.T, cases []sqlCase) {
	t.Helper()
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e.runCase(t, sc)
		})
	}
}

// TestNoPlaintextReachesPostgreSQL runs the attacks of issue 10 against one proxy: each with a
// marker of its own, in a database of its own, as app_a with app.tenant = 'acme' unless it says
// otherwise.
func TestNoPlaintextReachesPostgreSQL(t *testing.T) {
	server(t) // its process watcher stays until TestMain stops it
	checkGoroutines(t)
	e := newEnv(t)

	t.Run("the checks themselves can fail", func(t *testing.T) {
		t.Run("a marker inserted straight into users.note is found in the log and at rest", func(t *testing.T) {
			db := e.caseDB(t)
			mk := newMarker()
			if err := exec(t, direct(t, db), "INSERT INTO users (tenant, note) VALUES ('acme', convert_to('"+mk+"', 'UTF8'))"); err != nil {
				t.Fatal(err)
			}
			hits := strings.Join(leakHits(t, db, mk), "\n")
			if !strings.Contains(hits, "server log: ") || !strings.Contains(hits, "at rest: ") {
				t.Fatalf("leakHits() = %q, want hits in the server log and at rest", hits)
			}
		})
		t.Run("a marker written through pgseal into the plain column contacts.email is found at rest", func(t *testing.T) {
			db := e.caseDB(t)
			mk := newMarker()
			c := e.connect(t, db, roleA, "acme")
			if err := exec(t, c, "INSERT INTO contacts (email) VALUES ($1)", mk); err != nil {
				t.Fatal(err)
			}
			if hits := strings.Join(leakHits(t, db, mk), "\n"); !strings.Contains(hits, "at rest: ") {
				t.Fatalf("leakHits() = %q, want a hit at rest", hits)
			}
		})
		t.Run("a row sealed under another tenant's keyset is reported", func(t *testing.T) {
			db := e.caseDB(t)
			c := e.connect(t, db, pgtest.Superuser, "globex")
			if err := exec(t, c, "INSERT INTO users (tenant, note) VALUES ('acme', 'x')"); err != nil {
				t.Fatal(err)
			}
			if got := e.keysetMismatches(t, db); len(got) == 0 {
				t.Fatalf("keysetMismatches() = none, want the acme row sealed under globex")
			}
		})
		t.Run("app_a writes and reads back users.note, email and doc through pgseal as ciphertext", func(t *testing.T) {
			db := e.caseDB(t)
			mk := newMarker()
			c := e.connect(t, db, roleA, "acme")
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
				var id int
				err := c.QueryRow(context.Background(), "INSERT INTO users (tenant, email, note, doc) VALUES ('acme', $1, $2, $3) RETURNING id",
					mode, mk+"@example.com", mk, `{"k": "`+mk+`"}`).Scan(&id)
				if err != nil {
					t.Fatalf("INSERT (%v) = %v", mode, err)
				}
				var note string
				if err := c.QueryRow(context.Background(), "SELECT note FROM users WHERE id = $1", mode, id).Scan(&note); err != nil || note != mk {
					t.Fatalf("SELECT note (%v) = %q, %v, want %q", mode, note, err, mk)
				}
			}
			assertNoLeak(t, db, mk)
			e.assertTenantKeysets(t, db)
		})
	})

	t.Run("1 a catalog poisoned by another session does not turn encryption off", func(t *testing.T) { e.catalogPoisoning(t) })
	t.Run("2 a client encoding or string syntax that pgseal lexes differently does not hide a statement", func(t *testing.T) { e.clientEncoding(t) })
	t.Run("3 a search_path that resolves to sec.accounts does not bypass its encryption", func(t *testing.T) { e.runCases(t, searchPathCases) })
	t.Run("4 SQL EXECUTE of a prepared statement does not send its arguments in plaintext", func(t *testing.T) { e.runCases(t, executeCases) })
	t.Run("5 views, partitions and inheritance children of configured tables are encrypted too", func(t *testing.T) { e.runCases(t, relationCases) })
	t.Run("6 DO blocks and function bodies do not carry plaintext to PostgreSQL", func(t *testing.T) { e.runCases(t, functionCases) })
	t.Run("7 literals compared with encrypted columns in aggregates and windows are not sent", func(t *testing.T) { e.runCases(t, aggregateCases) })
	t.Run("8 DDL does not store literals compared with encrypted columns", func(t *testing.T) { e.runCases(t, ddlCases) })
	t.Run("9 a tenant out of step with the keyset cannot seal a row under another tenant's keys", func(t *testing.T) { e.tenantOutOfStep(t) })
	t.Run("V CTEs, MERGE, CREATE TABLE AS and COPY do not store plaintext", func(t *testing.T) { e.runCases(t, statementCases) })
	t.Run("S range, ORDER BY and LIKE searches send only terms and tokens", func(t *testing.T) { e.runCases(t, searchCases) })
	t.Run("N unquoted numbers reach PostgreSQL only as envelopes and terms", func(t *testing.T) { e.numberConstants(t) })
	t.Run("D dates and timestamps compared across types reach PostgreSQL only as terms", func(t *testing.T) { e.datetimeConstants(t) })
}
