package sqlstate

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestErrorText(t *testing.T) {
	if got := Fatal(AdminShutdown, "terminating %s", "connection").Error(); got != "FATAL: terminating connection (SQLSTATE 57P01)" {
		t.Errorf("Fatal().Error() = %q", got)
	}
	// Without a severity the text is the message alone: value's errors are wrapped into
	// configuration and catalog messages that read the same as before the types were merged.
	if got := New(InvalidTextRepresentation, "invalid input syntax for type %s", "integer").Error(); got != "invalid input syntax for type integer" {
		t.Errorf("New().Error() = %q", got)
	}
}

func TestErrorResponse(t *testing.T) {
	e := &Error{Code: FeatureNotSupported, Message: "m", Detail: "d", Hint: "h", Position: 3}
	r := e.ErrorResponse()
	if r.Severity != SeverityError || r.SeverityUnlocalized != SeverityError || r.Code != "0A000" ||
		r.Message != "m" || r.Detail != "d" || r.Hint != "h" || r.Position != 3 {
		t.Errorf("ErrorResponse() = %+v", r)
	}
	if r := Fatal(ProtocolViolation, "x").ErrorResponse(); r.Severity != SeverityFatal {
		t.Errorf("Fatal severity = %q", r.Severity)
	}
}

func TestLocate(t *testing.T) {
	sql := "SELECT 'é' FROM t"
	for _, tt := range []struct {
		off  int
		want int32
	}{{0, 1}, {7, 8}, {11, 11}, {len(sql), 18}, {-1, 0}, {len(sql) + 1, 0}} {
		e := &Error{Code: SyntaxError, Message: "m", Offset: tt.off}
		if got := e.Locate(sql); got.Position != tt.want || got == e || e.Position != 0 {
			t.Errorf("Locate(offset %d).Position = %d, want %d (and a copy)", tt.off, got.Position, tt.want)
		}
	}
}

func TestAsAndIsServer(t *testing.T) {
	inner := New(DataCorrupted, "bad")
	if e, ok := As(fmt.Errorf("wrapped: %w", inner)); !ok || e != inner {
		t.Errorf("As(wrapped) = %v, %v", e, ok)
	}
	if _, ok := As(fmt.Errorf("plain")); ok {
		t.Error("As(plain) found an Error")
	}
	server := fmt.Errorf("query: %w", &pgconn.PgError{Code: UndefinedTable})
	if !IsServer(server, InvalidSchemaName, UndefinedTable) || IsServer(server, CheckViolation) {
		t.Error("IsServer does not match the server's code")
	}
	if IsServer(inner, DataCorrupted) {
		t.Error("IsServer matched pgseal's own Error")
	}
}
