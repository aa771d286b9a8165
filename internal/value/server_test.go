package value

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// serverSessions are session settings under which Decode must reproduce the server's bytes.
var serverSessions = []struct {
	name string
	sets []string
}{
	{"UTC with defaults", []string{"SET TimeZone = 'UTC'"}},
	{"New York", []string{"SET TimeZone = 'America/New_York'"}},
	{"Kolkata with extra_float_digits 0 and bytea escape", []string{"SET TimeZone = 'Asia/Kolkata'", "SET extra_float_digits = 0", "SET bytea_output = 'escape'"}},
	{"Lord Howe with DMY and extra_float_digits 3", []string{"SET TimeZone = 'Australia/Lord_Howe'", "SET DateStyle = 'ISO, DMY'", "SET extra_float_digits = 3"}},
	{"fixed offset interval zone with extra_float_digits -3", []string{"SET TIME ZONE INTERVAL '+05:45' HOUR TO MINUTE", "SET extra_float_digits = -3"}},
	{"London with YMD", []string{"SET TimeZone = 'Europe/London'", "SET DateStyle = 'ISO, YMD'"}},
}

// sessionFrom mirrors what the proxy does: ParameterStatus for reported settings, SET tracking
// for the others (SHOW stands in for that here).
func sessionFrom(t *testing.T, conn *pgx.Conn) *Session {
	t.Helper()
	s := &Session{}
	pc := conn.PgConn()
	s.Set("TimeZone", pc.ParameterStatus("TimeZone"))
	s.Set("DateStyle", pc.ParameterStatus("DateStyle"))
	for _, name := range []string{"extra_float_digits", "bytea_output"} {
		var v string
		if err := conn.QueryRow(context.Background(), "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		s.Set(name, v)
	}
	return s
}

// pgCast asks the server for in::t in text and in binary, or for its SQLSTATE.
func pgCast(t *testing.T, pc *pgconn.PgConn, typ Type, in string) (text, bin []byte, code string) {
	t.Helper()
	sql := fmt.Sprintf("SELECT $1::%[1]s, $1::%[1]s", typ)
	res := pc.ExecParams(context.Background(), sql, [][]byte{[]byte(in)}, nil, []int16{0}, []int16{0, 1}).Read()
	if res.Err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(res.Err, &pgErr) {
			t.Fatalf("server: %v", res.Err)
		}
		return nil, nil, pgErr.Code
	}
	return res.Rows[0][0], res.Rows[0][1], ""
}

func TestDecodeMatchesServerOutput(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	for _, sess := range serverSessions {
		t.Run(sess.name, func(t *testing.T) {
			for _, q := range sess.sets {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			s := sessionFrom(t, conn)
			for typ := Text; typ <= Bytea; typ++ {
				for _, in := range corpus[typ] {
					checkAgainstServer(t, conn.PgConn(), s, typ, in)
				}
			}
		})
	}
}

func checkAgainstServer(t *testing.T, pc *pgconn.PgConn, s *Session, typ Type, in string) {
	t.Helper()
	wantText, wantBin, wantCode := pgCast(t, pc, typ, in)
	plain, err := Encode(nil, typ, FormatText, []byte(in), s)
	if wantCode != "" {
		var e *Error
		if !errors.As(err, &e) || e.Code != wantCode {
			t.Errorf("Encode(%s, %q) error = %v, want SQLSTATE %s", typ, in, err, wantCode)
		}
		return
	}
	if err != nil {
		t.Errorf("Encode(%s, %q) = %v, want success (server gives %q)", typ, in, err, wantText)
		return
	}
	if got, err := Decode(nil, typ, plain, FormatText, s); err != nil || !bytes.Equal(got, wantText) {
		t.Errorf("Decode(%s, Encode(%q)) text = %q, %v, want %q", typ, in, got, err, wantText)
	}
	if got, err := Decode(nil, typ, plain, FormatBinary, s); err != nil || !bytes.Equal(got, wantBin) {
		t.Errorf("Decode(%s, Encode(%q)) binary = %x, %v, want %x", typ, in, got, err, wantBin)
	}
	if got, err := Encode(nil, typ, FormatBinary, wantBin, s); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Encode(%s, binary of %q) = %x, %v, want %x", typ, in, got, err, plain)
	}
	if s.ExtraFloatDigits() < 1 && (typ == Float4 || typ == Float8) {
		return // the server's text output is rounded: it does not read back as the same value
	}
	if got, err := Encode(nil, typ, FormatText, wantText, s); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Encode(%s, server text %q of %q) = %x, %v, want %x", typ, wantText, in, got, err, plain)
	}
}

func TestEqualityFormAgreesWithServer(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := context.Background()
	for typ := Text; typ <= Bytea; typ++ {
		for _, pair := range equalityPairs[typ] {
			name := fmt.Sprintf("%s %q = %q", typ, pair[0], pair[1])
			t.Run(name, func(t *testing.T) {
				var want bool
				sql := fmt.Sprintf("SELECT $1::%[1]s = $2::%[1]s", typ)
				if err := conn.QueryRow(ctx, sql, pgx.QueryExecModeExec, pair[0], pair[1]).Scan(&want); err != nil {
					t.Fatal(err)
				}
				a := mustEqForm(t, typ, pair[0])
				b := mustEqForm(t, typ, pair[1])
				if got := bytes.Equal(a, b); got != want {
					t.Errorf("EqualityForm(%q) == EqualityForm(%q) is %v, want %v (server)", pair[0], pair[1], got, want)
				}
			})
		}
	}
}

func mustEqForm(t *testing.T, typ Type, in string) []byte {
	t.Helper()
	plain, err := Encode(nil, typ, FormatText, []byte(in), nil)
	if err != nil {
		t.Fatalf("Encode(%s, %q) = %v", typ, in, err)
	}
	eq, err := EqualityForm(nil, typ, plain)
	if err != nil {
		t.Fatalf("EqualityForm(%s, %q) = %v", typ, in, err)
	}
	return eq
}
