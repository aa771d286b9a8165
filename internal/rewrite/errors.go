package rewrite

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pganalyze/pg_query_go/v5/parser"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// SQLSTATE codes Analyze returns (the codes live in internal/sqlstate).
const (
	CodeFeatureNotSupported = sqlstate.FeatureNotSupported
	CodeSyntaxError         = sqlstate.SyntaxError
)

// Error is a refusal: sqlstate.Error with a SQLSTATE, a message that never contains values, and
// Offset, a 0-based byte position into the SQL (or -1).
type Error = sqlstate.Error

// unsupported builds a 0A000 naming the column and the construct.
func unsupported(c *Column, construct string, pos int) *Error {
	return &Error{Code: CodeFeatureNotSupported, Offset: pos,
		Message: fmt.Sprintf("column %s is encrypted: %s is not supported", c.display(), construct)}
}

func unsupportedf(pos int, format string, args ...any) *Error {
	return &Error{Code: CodeFeatureNotSupported, Offset: pos, Message: fmt.Sprintf(format, args...)}
}

// syntaxError converts a pg_query error. Its cursor position counts characters from 1; we report
// a 0-based byte offset. pg_query messages quote the offending token, which may be a literal, so
// the quoted part is dropped.
func syntaxError(sql string, err error) *Error {
	var pe *parser.Error
	if !errors.As(err, &pe) {
		return &Error{Code: CodeSyntaxError, Message: "syntax error", Offset: -1}
	}
	pos := -1
	if pe.Cursorpos > 0 {
		pos = charToByte(sql, pe.Cursorpos-1)
	}
	msg := pe.Message
	if i := indexQuote(msg); i >= 0 {
		msg = strings.TrimSuffix(strings.TrimSpace(msg[:i]), " at or near")
	}
	return &Error{Code: CodeSyntaxError, Message: msg, Offset: pos}
}

// indexQuote finds where a quoted token starts in "syntax error at or near "…"".
func indexQuote(msg string) int {
	for i := 0; i < len(msg); i++ {
		if msg[i] == '"' {
			return i
		}
	}
	return -1
}

func charToByte(s string, chars int) int {
	b := 0
	for i := 0; i < chars && b < len(s); i++ {
		_, n := utf8.DecodeRuneInString(s[b:])
		b += n
	}
	return b
}
