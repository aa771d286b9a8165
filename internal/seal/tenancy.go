package seal

import (
	"strings"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/tenancy"
)

// Tenancy follows PostgreSQL's own rules (docs/design.md §4) twice: "predicted" settings, which the
// client loop advances optimistically with each statement it sends and uses to pick keysets, and
// "confirmed" settings, which the server loop advances from the answers (CommandComplete per
// statement, ErrorResponse, ReadyForQuery). When nothing is in flight, predicted := confirmed.

// startupSettings are the settings a session starts with: `options` (-c name=value, --name=value)
// and any other startup parameter, which PostgreSQL also treats as a setting. PostgreSQL applies
// `options` first and the other parameters after them (process_startup_options), so a parameter
// given both ways takes the direct parameter's value.
func startupSettings(params map[string]string) map[string]string {
	out := optionSettings(params["options"])
	for k, v := range params {
		switch k {
		case "user", "database", "options", "replication":
			continue
		}
		if strings.HasPrefix(k, "_pq_.") {
			continue
		}
		out[strings.ToLower(k)] = v
	}
	return out
}

// optionSettings are the settings of the `options` startup parameter.
func optionSettings(options string) map[string]string {
	out := map[string]string{}
	words := splitOptions(options)
	for i := 0; i < len(words); i++ {
		w := words[i]
		var kv string
		switch {
		case w == "-c" && i+1 < len(words):
			i++
			kv = words[i]
		case strings.HasPrefix(w, "-c"):
			kv = w[2:]
		case strings.HasPrefix(w, "--"):
			kv = w[2:]
		default:
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		// PostgreSQL accepts '-' for '_' in option names given this way (ParseLongOption).
		out[strings.ToLower(strings.ReplaceAll(name, "-", "_"))] = val
	}
	return out
}

// splitOptions splits `options` at unescaped whitespace; a backslash escapes the next byte
// (pg_split_opts).
func splitOptions(s string) []string {
	var out []string
	var b strings.Builder
	inWord, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			b.WriteByte(c)
			esc = false
		case c == '\\':
			esc, inWord = true, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, b.String())
	}
	return out
}

// applyTx applies a transaction statement. tag is the server's CommandComplete tag, or "" when
// predicting. It returns the new "explicit block" flag.
func applyTx(g *tenancy.GUC, st *rewrite.Statement, sql, tag string, explicit bool) bool {
	switch st.Tx {
	case "begin":
		g.Begin()
		return true
	case "commit", "prepare":
		if tag == "ROLLBACK" { // COMMIT of a failed block rolls back
			g.Rollback()
		} else {
			g.Commit()
		}
		return false
	case "rollback":
		g.Rollback()
		return false
	case "savepoint":
		g.Savepoint(lastName(sql))
	case "release":
		g.Release(lastName(sql))
	case "rollback_to":
		g.RollbackTo(lastName(sql))
	}
	return explicit
}

// applySettings applies a statement's setting changes (already resolved for parameters).
func applySettings(g *tenancy.GUC, settings []rewrite.SettingChange) {
	for _, sc := range settings {
		switch sc.Kind {
		case rewrite.SettingSet:
			if !sc.Dynamic {
				g.Set(sc.Name, sc.Value)
			}
		case rewrite.SettingSetLocal:
			if sc.Default {
				g.SetLocal(sc.Name, resetValue(g, sc.Name))
				continue
			}
			if !sc.Dynamic {
				g.SetLocal(sc.Name, sc.Value)
			}
		case rewrite.SettingReset:
			g.Reset(sc.Name)
		case rewrite.SettingResetAll, rewrite.SettingDiscardAll:
			g.ResetAll()
		}
	}
}

// resetValue is the value RESET would give name (its startup value, "" when none: unset), for
// SET LOCAL x TO DEFAULT.
func resetValue(g *tenancy.GUC, name string) string {
	c := g.Clone()
	c.Reset(name)
	v, _ := c.Get(name)
	return v
}

// applyTag applies what a CommandComplete tag alone says, for statements pgseal did not parse
// (their text could change no setting): transaction boundaries.
func applyTag(g *tenancy.GUC, tag string) {
	switch tag {
	case "BEGIN", "START TRANSACTION":
		g.Begin()
	case "COMMIT", "PREPARE TRANSACTION":
		g.Commit()
	case "ROLLBACK":
		g.Rollback()
	case "DISCARD ALL":
		g.ResetAll()
	}
}

// lastName returns the last identifier of a statement such as `ROLLBACK TO SAVEPOINT s` or
// `DEALLOCATE PREPARE "Q1"`: unquoted names fold to lower case, as PostgreSQL folds them.
func lastName(sql string) string {
	s := strings.TrimRight(strings.TrimSpace(sql), "; \t\r\n")
	if strings.HasSuffix(s, `"`) {
		i := len(s) - 2
		for i >= 0 {
			if s[i] == '"' && (i == 0 || s[i-1] != '"') {
				break
			}
			if s[i] == '"' {
				i -= 2
				continue
			}
			i--
		}
		if i >= 0 {
			return strings.ReplaceAll(s[i+1:len(s)-1], `""`, `"`)
		}
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[len(f)-1])
}

// endImplicitLocked closes the implicit transaction of a simple Query or of the messages up to a
// Sync in the predicted state (ReadyForQuery would report 'I').
func (ss *Session) endImplicitLocked() {
	if !ss.mu.explicit {
		ss.mu.pred.EndBlock(false)
	}
}

// predictLocked applies one statement to the predicted settings.
func (ss *Session) predictLocked(st *rewrite.Statement, sql string, settings []rewrite.SettingChange) {
	ss.mu.explicit = applyTx(ss.mu.pred, st, sql, "", ss.mu.explicit)
	applySettings(ss.mu.pred, settings)
	ss.noteLexicalLocked(st, settings)
}

// confirm applies one statement the server completed with tag to the confirmed settings, and
// keeps the session's value settings and prepared statements in step.
func (ss *Session) confirm(se *stmtExec, settings []rewrite.SettingChange, tag string) {
	st := se.st
	applyTx(ss.server.conf, st, se.sql, tag, false)
	applySettings(ss.server.conf, settings)
	ss.confirmPrepare(se, tag)
	switch {
	case st.Kind == rewrite.StmtDeallocate:
		name := lastName(se.sql)
		ss.info.ForgetStatements(tag == "DEALLOCATE ALL" || name == "all", name)
	case st.Kind == rewrite.StmtDiscard && tag == "DISCARD ALL":
		ss.info.ForgetStatements(true, "")
	}
	if len(settings) > 0 {
		ss.syncValueSettings()
	}
}

// syncValueSettings copies the settings that change value text formats from the confirmed
// settings into the value session (those PostgreSQL does not report with ParameterStatus).
func (ss *Session) syncValueSettings() {
	for name, def := range map[string]string{"extra_float_digits": "1", "bytea_output": "hex"} {
		v, ok := ss.server.conf.Get(name)
		if !ok || v == "" {
			v = def
		}
		ss.server.vs.Set(name, v)
	}
	ss.mu.Lock()
	ss.mu.vs = ss.server.vs
	ss.mu.Unlock()
}

// ready handles ReadyForQuery on the server loop.
func (ss *Session) ready(status byte) {
	if status == 'I' {
		ss.server.conf.EndBlock(ss.server.failed)
	}
	ss.server.failed = false
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.mu.syncs > 0 {
		ss.mu.syncs--
	}
	if ss.mu.syncs == 0 && ss.mu.extended == 0 {
		ss.mu.pred.CopyFrom(ss.server.conf) // in place: nothing keeps the old pred
		ss.mu.explicit = status != 'I'
		ss.mu.lexInFlight = 0
	}
}
