package check

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg "github.com/pganalyze/pg_query_go/v5"
)

// ErrNoStatStatements: the database has no pg_stat_statements view (the extension is not
// created in it, or not loaded by shared_preload_libraries).
var ErrNoStatStatements = errors.New("pg_stat_statements is not available in this database (shared_preload_libraries = 'pg_stat_statements' and CREATE EXTENSION pg_stat_statements)")

// statsQuery reads the database's normalised statements and their calls: top-level ones only
// where PostgreSQL tells (14+; nested statements run inside functions, not from clients).
const (
	statsQuery = `SELECT query, sum(calls)::bigint FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND toplevel
GROUP BY query ORDER BY 2 DESC, 1`
	statsQueryOld = `SELECT query, sum(calls)::bigint FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY query ORDER BY 2 DESC, 1`
)

// hiddenText is pg_stat_statements' text of another role's statement for a role without
// pg_read_all_stats.
const hiddenText = "<insufficient privilege>"

// readStats returns pg_stat_statements' statements of the current database, without noise
// (Noise), how many were left out, and how many it may not read.
func readStats(ctx context.Context, conn *pgx.Conn) ([]Statement, int, int, error) {
	rows, err := queryStats(ctx, conn, statsQuery)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42703" { // no toplevel column before PostgreSQL 14
		rows, err = queryStats(ctx, conn, statsQueryOld)
	}
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "55000") {
		return nil, 0, 0, ErrNoStatStatements
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	var out []Statement
	skipped, hidden := 0, 0
	for _, st := range rows {
		if st.SQL == hiddenText {
			hidden++
			continue
		}
		if Noise(st.SQL) {
			skipped++
			continue
		}
		out = append(out, st)
	}
	return out, skipped, hidden, nil
}

func queryStats(ctx context.Context, conn *pgx.Conn, q string) ([]Statement, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		var st Statement
		if err := rows.Scan(&st.SQL, &st.Calls); err != nil {
			return nil, err
		}
		st.Proto, st.Source = ProtoParse, SourceStats
		out = append(out, st)
	}
	return out, rows.Err()
}

// Noise reports whether a recorded statement is left out of the check: pgseal's own queries
// (its catalog, marker, tenancy and envelope CHECK reads, written with OPERATOR(pg_catalog.…) and
// pg_catalog.current_setting; LISTEN/UNLISTEN), reads of pg_stat_statements itself, and utility
// statements that are not about data: transaction control, SET/RESET/SHOW, DISCARD, DEALLOCATE,
// LISTEN/UNLISTEN/NOTIFY, VACUUM, ANALYZE, CHECKPOINT. A text that does not parse is kept (the
// analysis refuses it as serving would).
func Noise(sql string) bool {
	if strings.Contains(sql, "OPERATOR(pg_catalog.") || strings.HasPrefix(sql, "SELECT pg_catalog.current_setting(") ||
		strings.Contains(strings.ToLower(sql), "pg_stat_statements") {
		return true
	}
	tree, err := pg.Parse(sql)
	if err != nil || len(tree.Stmts) == 0 {
		return err == nil
	}
	for _, raw := range tree.Stmts {
		n := raw.Stmt.GetNode()
		switch n.(type) {
		case *pg.Node_TransactionStmt, *pg.Node_VariableSetStmt, *pg.Node_VariableShowStmt, *pg.Node_DiscardStmt,
			*pg.Node_DeallocateStmt, *pg.Node_ListenStmt, *pg.Node_UnlistenStmt, *pg.Node_NotifyStmt,
			*pg.Node_VacuumStmt, *pg.Node_CheckPointStmt:
		default:
			return false
		}
	}
	return true
}

// pgseal's own rewritten forms, as pg_stat_statements records the statements of applications
// already served through pgseal: an equality term substring(col from $a for $b) (the offsets are
// normalised to parameters), sealed literals E'\\x…'::bytea (normalised to $n::bytea) and arrays
// of terms …]::bytea[].
var (
	termForm  = regexp.MustCompile(`(?i)substring\(\s*((?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*))*)\s+from\s+\$\d+\s+for\s+\$\d+\s*\)`)
	byteaCast = regexp.MustCompile(`(?i)(\$\d+)\s*::\s*(?:pg_catalog\.)?bytea(?:\s*\[\s*\])?`)
	arrayCast = regexp.MustCompile(`(?i)\]\s*::\s*(?:pg_catalog\.)?bytea\s*\[\s*\]`)
)

// unrewrite turns pgseal's rewritten forms back into what the application sent, so that a
// database already served through pgseal is checked by the application's statements, not by
// pgseal's: the term form on the eq columns (lower-case column names) and the bytea casts of
// sealed literals. It reports whether it changed sql. It cannot tell pgseal's forms from an
// application's own substring(col from $a for $b) on such a column or $n::bytea: those are then
// checked as pgseal's (README).
func unrewrite(sql string, eqCols map[string]bool) (string, bool) {
	out := termForm.ReplaceAllStringFunc(sql, func(m string) string {
		sub := termForm.FindStringSubmatch(m)
		parts := strings.Split(sub[1], ".")
		last := strings.ToLower(strings.Trim(strings.TrimSpace(parts[len(parts)-1]), `"`))
		if eqCols[last] {
			return sub[1]
		}
		return m
	})
	out = byteaCast.ReplaceAllString(out, "$1")
	out = arrayCast.ReplaceAllString(out, "]")
	return out, out != sql
}
