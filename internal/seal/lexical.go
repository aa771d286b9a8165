package seal

import (
	"fmt"
	"strings"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// Lexical settings: pgseal parses SQL with PostgreSQL's parser as UTF-8 bytes with
// standard_conforming_strings on. Two settings can make the server read the same bytes otherwise:
//
//   - client_encoding. The server converts the client's bytes to the database encoding before it
//     lexes them, and SJIS, BIG5, GBK, GB18030 and UHC have multi-byte characters whose second
//     byte is a quote or a backslash: an INSERT of plaintext can hide in what pgseal reads as a
//     string literal. UTF8 and SQL_ASCII are safe: with SQL_ASCII the server converts nothing and
//     lexes the bytes exactly as sent, as pgseal does (it validates them against the database
//     encoding first, as it does under UTF8). While another encoding is in force, Query and Parse
//     are refused, SETs that would choose one are refused at the statement, and a change pgseal
//     did not predict ends the session.
//   - standard_conforming_strings. Off, a backslash in a plain '…' string escapes the next byte
//     (and U&'…' strings are an error). Without a backslash byte and without U&'…' the two modes
//     lex every statement identically, so with it off pgseal refuses only statements containing
//     either, and spells its own bytea literals E'\\x…', which read the same in both modes. The
//     mode that counts is the predicted one when the statement is sent (a Query is lexed whole
//     before any of its statements runs). A change to off that no statement in flight explains
//     (a function calling set_config) ends the session: requests behind it were read with
//     backslashes as plain characters.

// lexical is the session's view of the two settings, from the server's ParameterStatus.
type lexical struct {
	encoding string // client_encoding as reported
	scs      bool   // standard_conforming_strings as reported
	// Startup values: what RESET, RESET ALL and DISCARD ALL return to.
	resetEncoding string
	resetSCS      bool
}

func newLexical(serverParams map[string]string) lexical {
	enc := serverParams["client_encoding"]
	scs := serverParams["standard_conforming_strings"] != "off"
	return lexical{encoding: enc, scs: scs, resetEncoding: enc, resetSCS: scs}
}

// cleanEncoding is an encoding name as PostgreSQL compares it: lower case, alphanumerics only
// (clean_encoding_name).
func cleanEncoding(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// isUTF8 reports whether an encoding name means UTF8 to PostgreSQL ("unicode" is an alias).
// PostgreSQL reports "UTF8"; an empty value (no report) is not accepted.
func isUTF8(name string) bool {
	n := cleanEncoding(name)
	return n == "utf8" || n == "unicode"
}

// readsAsSent reports whether under client_encoding name the server lexes the bytes pgseal
// lexed: UTF8, or SQL_ASCII (no conversion at all).
func readsAsSent(name string) bool { return isUTF8(name) || cleanEncoding(name) == "sqlascii" }

// boolOn reports whether a value parses as true the way PostgreSQL's parse_bool does (unique
// prefixes of true/yes, "on", "1"); anything else is off or invalid, and is treated as off.
func boolOn(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "":
		return false
	case strings.HasPrefix("true", v), strings.HasPrefix("yes", v):
		return true
	}
	return v == "on" || v == "1"
}

// safe reports whether pgseal reads SQL bytes the way the server does under this encoding.
func (l lexical) safe() bool { return readsAsSent(l.encoding) }

// unsafeRefusal says that the client encoding makes statements unsafe to analyse.
func (l lexical) unsafeRefusal() *sqlstate.Error {
	return encodingRefusal(l.encoding)
}

func encodingRefusal(enc string) *sqlstate.Error {
	return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
		Message: fmt.Sprintf("client_encoding %s is not supported through pgseal with encrypted columns; only UTF8 and SQL_ASCII are", enc),
		Hint:    "Connect with client_encoding=UTF8, or run SET client_encoding TO 'UTF8'."}
}

// allowWhileUnsafe reports a Query that reads the same under every client encoding (7-bit ASCII,
// no backslash: every PostgreSQL client encoding is an ASCII superset) and only changes
// settings: the way back to a safe session.
func allowWhileUnsafe(sql string, plan *rewrite.Plan) bool {
	for i := 0; i < len(sql); i++ {
		if sql[i] >= 0x80 || sql[i] == '\\' {
			return false
		}
	}
	if len(plan.Statements) == 0 {
		return false
	}
	for _, st := range plan.Statements {
		if (st.Kind != rewrite.StmtSet && st.Kind != rewrite.StmtReset) || st.Touches {
			return false
		}
	}
	return true
}

// scsSensitive reports whether sql contains what standard_conforming_strings changes the reading
// of: a backslash byte, or a U&'…' string (an error with it off).
func scsSensitive(sql string) bool {
	return strings.IndexByte(sql, '\\') >= 0 || containsFold(sql, "u&'")
}

// scsRefusalLocked refuses a statement that the server would read differently from pgseal under
// the standard_conforming_strings predicted for it.
func (ss *Session) scsRefusalLocked(sql string) *sqlstate.Error {
	if ss.predictedSCSLocked() || !scsSensitive(sql) {
		return nil
	}
	return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
		Message: "with standard_conforming_strings off, a statement containing a backslash or a U&'…' string is not supported through pgseal with encrypted columns",
		Hint:    "Run SET standard_conforming_strings TO on, or write the statement without backslashes (E'…' strings need them)."}
}

// predictedSCSLocked is standard_conforming_strings as the next statement sent will find it.
func (ss *Session) predictedSCSLocked() bool {
	if v, ok := ss.mu.pred.Get("standard_conforming_strings"); ok {
		return boolOn(v)
	}
	return ss.mu.lex.resetSCS
}

// noteLexicalLocked counts a statement sent that may change standard_conforming_strings when it
// runs or ends its transaction: a ParameterStatus to off is foreseen while one is in flight.
func (ss *Session) noteLexicalLocked(st *rewrite.Statement, settings []rewrite.SettingChange) {
	if st.Tx != "" {
		ss.mu.lexInFlight++
		return
	}
	for _, sc := range settings {
		if sc.Name == "standard_conforming_strings" || sc.Kind == rewrite.SettingResetAll || sc.Kind == rewrite.SettingDiscardAll {
			ss.mu.lexInFlight++
			return
		}
	}
}

// checkLexical refuses a statement's change of client_encoding to one pgseal cannot read as the
// server does, including a RESET to such a startup value. Values only the Bind carries are
// checked again after resolveSettings.
func (l lexical) checkLexical(settings []rewrite.SettingChange, known bool) *sqlstate.Error {
	for _, sc := range settings {
		enc := l.resetEncoding
		switch {
		case sc.Kind == rewrite.SettingResetAll || sc.Kind == rewrite.SettingDiscardAll:
		case sc.Name != "client_encoding":
			continue
		case sc.Dynamic:
			return &sqlstate.Error{Code: sqlstate.FeatureNotSupported,
				Message: fmt.Sprintf("setting %s to a computed value is not supported through pgseal", sc.Name)}
		case sc.ValueParam > 0 && !known:
			continue // known at Bind
		case sc.Kind == rewrite.SettingReset || sc.Default:
		default:
			enc = sc.Value
		}
		if !readsAsSent(enc) {
			return encodingRefusal(enc)
		}
	}
	return nil
}

// lexicalStatus follows a ParameterStatus (server loop). A client_encoding pgseal cannot read
// was not predicted (every statement that would choose one is refused), and neither was
// standard_conforming_strings turning off with no statement in flight that could do it: something
// pgseal cannot see made the change, e.g. a function calling set_config. Requests already sent
// behind it were analysed under the wrong assumption and may be running now: the session ends.
func (ss *Session) lexicalStatus(name, val string) error {
	if name != "client_encoding" && name != "standard_conforming_strings" {
		return nil
	}
	ss.mu.Lock()
	bad := false
	if name == "client_encoding" {
		ss.mu.lex.encoding, bad = val, !readsAsSent(val)
	} else {
		ss.mu.lex.scs = boolOn(val)
		bad = !ss.mu.lex.scs && ss.mu.lexInFlight == 0
	}
	ss.mu.Unlock()
	if !bad {
		return nil
	}
	return &sqlstate.Error{Code: sqlstate.FeatureNotSupported, Severity: sqlstate.SeverityFatal,
		Message: fmt.Sprintf("%s changed to %s by a statement pgseal could not follow; the session ends", name, val)}
}
