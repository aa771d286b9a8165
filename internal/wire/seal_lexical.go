package wire

import (
	"fmt"
	"strings"

	"github.com/pgseal/pgseal/internal/rewrite"
)

// Lexical settings: pgseal parses SQL as UTF-8 with standard_conforming_strings on. Under another
// client_encoding (SJIS, BIG5, GBK, … have multi-byte characters whose second byte is a quote or a
// backslash) or with backslash escapes in plain strings, PostgreSQL can split the same bytes into
// other statements than pgseal saw, e.g. an INSERT of plaintext hidden in what pgseal read as a
// string literal. So while either setting is off, Query and Parse are refused, SETs that would turn
// them off are refused at the statement, and a change pgseal did not predict ends the session.

// lexical is the session's view of the two settings, from the server's ParameterStatus.
type lexical struct {
	encoding string // client_encoding as reported
	scs      bool   // standard_conforming_strings
	// Startup values: what RESET, RESET ALL and DISCARD ALL return to.
	resetEncoding string
	resetSCS      bool
}

func newLexical(serverParams map[string]string) lexical {
	enc := serverParams["client_encoding"]
	scs := serverParams["standard_conforming_strings"] != "off"
	return lexical{encoding: enc, scs: scs, resetEncoding: enc, resetSCS: scs}
}

// isUTF8 reports whether an encoding name means UTF8 to PostgreSQL, which ignores case and
// non-alphanumerics (clean_encoding_name) and knows "unicode" as an alias. PostgreSQL reports
// "UTF8"; an empty value (no report) is taken as PostgreSQL's default only for old servers, so
// it is not accepted.
func isUTF8(name string) bool {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	n := b.String()
	return n == "utf8" || n == "unicode"
}

// boolOn reports whether a value parses as true the way PostgreSQL's parse_bool does (unique
// prefixes of true/yes, "on", "1"); anything else is off or invalid, and is refused either way.
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

// safe reports whether pgseal reads SQL the way the server does.
func (l lexical) safe() bool { return isUTF8(l.encoding) && l.scs }

// unsafeRefusal says which setting makes statements unsafe to analyse.
func (l lexical) unsafeRefusal() *ProxyError {
	if !isUTF8(l.encoding) {
		return &ProxyError{Code: CodeFeatureNotSupported,
			Message: fmt.Sprintf("client_encoding %s is not supported through pgseal with encrypted columns; only UTF8 is", l.encoding),
			Hint:    "Connect with client_encoding=UTF8, or run SET client_encoding TO 'UTF8'."}
	}
	return &ProxyError{Code: CodeFeatureNotSupported,
		Message: "standard_conforming_strings off is not supported through pgseal with encrypted columns; only on is",
		Hint:    "Run SET standard_conforming_strings TO on."}
}

// allowWhileUnsafe reports a Query that reads the same under every client encoding and either
// value of standard_conforming_strings (7-bit ASCII, no backslash: every PostgreSQL client
// encoding is an ASCII superset) and only changes settings: the way back to a safe session.
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

// checkLexical refuses a statement's change of client_encoding to anything but UTF8, or of
// standard_conforming_strings to off, including a RESET to such a startup value. Settings whose
// value only the Bind carries are checked again after resolveSettings.
func (l lexical) checkLexical(settings []rewrite.SettingChange, known bool) *ProxyError {
	for _, sc := range settings {
		enc, scs := l.resetEncoding, l.resetSCS
		switch {
		case sc.Kind == rewrite.SettingResetAll || sc.Kind == rewrite.SettingDiscardAll:
		case sc.Name != "client_encoding" && sc.Name != "standard_conforming_strings":
			continue
		case sc.Dynamic:
			return &ProxyError{Code: CodeFeatureNotSupported,
				Message: fmt.Sprintf("setting %s to a computed value is not supported through pgseal", sc.Name)}
		case sc.ValueParam > 0 && !known:
			continue // known at Bind
		case sc.Kind == rewrite.SettingReset || sc.Default:
		default:
			enc, scs = sc.Value, boolOn(sc.Value)
		}
		if sc.Name != "standard_conforming_strings" && !isUTF8(enc) {
			return &ProxyError{Code: CodeFeatureNotSupported,
				Message: fmt.Sprintf("client_encoding %s is not supported through pgseal with encrypted columns; only UTF8 is", enc)}
		}
		if sc.Name != "client_encoding" && !scs {
			return &ProxyError{Code: CodeFeatureNotSupported,
				Message: "standard_conforming_strings off is not supported through pgseal with encrypted columns; only on is"}
		}
	}
	return nil
}

// lexicalStatus follows a ParameterStatus (server loop). A change to an unsafe value was not
// predicted (pgseal refuses every statement it parses that would make it), so something pgseal
// cannot see made it, e.g. a function calling set_config. Requests already sent behind it were
// analysed under the wrong assumption and may be running now: the session ends (FATAL).
func (ss *sealSession) lexicalStatus(name, val string) error {
	if name != "client_encoding" && name != "standard_conforming_strings" {
		return nil
	}
	ss.mu.Lock()
	bad := false
	if name == "client_encoding" {
		ss.mu.lex.encoding, bad = val, !isUTF8(val)
	} else {
		ss.mu.lex.scs, bad = val != "off", val == "off"
		ss.mu.scs = ss.mu.lex.scs
	}
	ss.mu.Unlock()
	if !bad {
		return nil
	}
	return &ProxyError{Code: CodeFeatureNotSupported, Severity: SeverityFatal,
		Message: fmt.Sprintf("%s changed to %s by a statement pgseal could not follow; the session ends", name, val)}
}
