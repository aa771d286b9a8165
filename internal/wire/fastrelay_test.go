package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// The relay tests of this package run on the fast relay (plain sessions without an interceptor);
// TestGoroutineRelay runs them again on the goroutine relay, which TLS sessions use
// (internal/seal has its own for sessions with the interceptor).
func TestGoroutineRelay(t *testing.T) {
	useGoroutineRelay = true
	t.Cleanup(func() { useGoroutineRelay = false })
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"every protocol feature", TestRelayPassesEveryProtocolFeature},
		{"raw protocol features", TestRawProtocolFeatures},
		{"large values", TestLargeValuesStream},
		{"upstream killed mid-result", TestUpstreamKilledMidResult},
		{"max message size", TestMaxMessageSizeIsEnforced},
		{"client vanishing mid-query", TestClientVanishingMidQueryEndsTheUpstreamSession},
		{"graceful shutdown", TestGracefulShutdownEndsLingeringSessionsWith57P01},
		{"a slow client", TestFastRelayBackpressure},
	} {
		t.Run(c.name, c.test)
	}
}

// fastRelayPossible says whether plain sessions of this process can use the fast relay.
func fastRelayPossible() bool { return runtime.GOOS == "linux" && runtime.GOMAXPROCS(0) >= 2 }

func TestFastRelayCarriesPlainSessions(t *testing.T) {
	if !fastRelayPossible() {
		t.Skip("the fast relay needs linux and GOMAXPROCS >= 2")
	}
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	rc := p.dialRaw(t)
	rc.send(&pgproto3.Query{String: "SELECT 1"})
	if got, want := rc.until('Z'), "TDCZ"; got != want {
		t.Fatalf("responses = %q, want %q", got, want)
	}
	if n := p.srv.fastUsed.Load(); n != 1 {
		t.Fatalf("sessions on the fast relay = %d, want 1", n)
	}
}

// TestFastRelayBackpressure reads a big result through a client socket with a tiny receive
// buffer, slowly: the relay must keep what the client cannot take yet, pause the server and lose
// nothing.
func TestFastRelayBackpressure(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	rc := p.dialRaw(t)
	_ = rc.Conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	const rows = 20000
	rc.send(&pgproto3.Query{String: fmt.Sprintf("SELECT i, repeat('x', 500) FROM generate_series(1, %d) i", rows)})
	// Let the server fill every buffer between it and the client before reading.
	if !useGoroutineRelay && fastRelayPossible() && !eventually(5*time.Second, func() bool { return p.srv.fastPaused.Load() > 0 }) {
		t.Fatalf("the relay never found the client's socket full")
	}
	n := 0
	for {
		m, err := rc.FE.Receive()
		if err != nil {
			t.Fatalf("receive after %d rows: %v", n, err)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			n++
			if want := fmt.Sprint(n); string(m.Values[0]) != want || !bytes.Equal(m.Values[1], bytes.Repeat([]byte("x"), 500)) {
				t.Fatalf("row %d = %q, want %s and 500 x", n, m.Values[0], want)
			}
		case *pgproto3.ErrorResponse:
			t.Fatalf("error %s: %s", m.Code, m.Message)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if n != rows {
		t.Fatalf("rows = %d, want %d", n, rows)
	}
	rc.send(&pgproto3.Query{String: "SELECT 2"})
	if got, want := rc.until('Z'), "TDCZ"; got != want {
		t.Fatalf("responses after the big result = %q, want %q", got, want)
	}
}

// TestFastStreamFrames checks the framing of the fast relay on its own: whole messages forward,
// a partial one waits, a huge one streams, bad lengths and oversize messages stop before them.
func TestFastStreamFrames(t *testing.T) {
	msg := func(typ byte, body string) []byte {
		b := []byte{typ, 0, 0, 0, 0}
		b[4] = byte(4 + len(body)) // bodies here are short
		return append(b, body...)
	}
	q, z := msg('Q', "SELECT 1\x00"), msg('Z', "I")
	big := []byte{'D', 0, 1, 0, 0} // 65536 bytes in total: bigger than the 1 KiB buffer below
	stop := errors.New("stop")
	tests := []struct {
		name      string
		in        []byte
		stopAt    byte
		wantN     int
		wantTypes string
		wantBig   int
		wantErr   error
	}{
		{"whole messages all forward", append(append([]byte{}, q...), z...), 0, len(q) + len(z), "QZ", 0, nil},
		{"a partial message waits for the rest", append(append([]byte{}, q...), z[:3]...), 0, len(q), "Q", 0, nil},
		{"a partial header waits for the rest", append(append([]byte{}, z...), 'Q', 0), 0, len(z), "Z", 0, nil},
		{"a message bigger than the buffer streams", append(append([]byte{}, z...), big...), 0, len(z) + len(big), "ZD", 65537 - len(big), nil},
		{"a handler error stops after its message", append(append([]byte{}, q...), z...), 'Q', len(q), "Q", 0, stop},
		{"a bad length stops before the message", append(append([]byte{}, z...), 'Q', 0, 0, 0, 3), 0, len(z), "Z", 0, errBadLength},
		{"an oversize message stops before it", append(append([]byte{}, z...), 'Q', 0, 0x20, 0, 0), 0, len(z), "Z", 0, errOversize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d fastStream
			var types []byte
			n, err := d.frames(tt.in, 1024, 1<<20-1, func(typ byte, _ []byte) error {
				types = append(types, typ)
				if typ == tt.stopAt {
					return stop
				}
				return nil
			})
			if n != tt.wantN || string(types) != tt.wantTypes || d.big != tt.wantBig || !errors.Is(err, tt.wantErr) {
				t.Fatalf("frames() = %d, types %q, big %d, %v; want %d, %q, %d, %v", n, types, d.big, err, tt.wantN, tt.wantTypes, tt.wantBig, tt.wantErr)
			}
		})
	}
}

// FuzzFastFrames feeds the fast relay's framing a stream cut into arbitrary reads, as the loop
// does (carry + what fits in the buffer): it never panics, sees exactly the whole messages a
// one-piece walk finds, in order, forwards a prefix of the stream and loses no byte, and stops at
// the first bad or oversize header.
func FuzzFastFrames(f *testing.F) {
	f.Add([]byte("Q\x00\x00\x00\x0dSELECT 1\x00Z\x00\x00\x00\x05I"), byte(3))
	f.Add([]byte("D\x00\x00\x04\x00"), byte(1))
	f.Add([]byte("X\x00\x00\x00\x04Q\x00\x00\x00\x03"), byte(7))
	f.Fuzz(func(t *testing.T, stream []byte, cut byte) {
		const bufCap, maxBody = 64, 200
		// The reference: walk the whole stream at once.
		var want []byte
		wantErr := false
		for i := 0; len(stream)-i >= 5; {
			length := int64(int32(binary.BigEndian.Uint32(stream[i+1:])))
			if length < 4 || length-4 > maxBody {
				wantErr = true
				break
			}
			total := 1 + int(length)
			if total <= bufCap && len(stream)-i >= total {
				want = append(want, stream[i]) // a whole message
			} else if total <= bufCap {
				break // incomplete: carried
			}
			i += total // a streamed message is skipped whole
		}
		var d fastStream
		var got, out []byte
		handle := func(typ byte, msg []byte) error {
			if msg != nil {
				got = append(got, typ)
			}
			return nil
		}
		step := int(cut%16) + 1
		var err error
		for off := 0; off < len(stream) && err == nil; {
			n := min(step, bufCap-len(d.carry), len(stream)-off)
			data := append(append([]byte{}, d.carry...), stream[off:off+n]...)
			off += n
			var k int
			k, err = d.frames(data, bufCap, maxBody, handle)
			if k < 0 || k > len(data) {
				t.Fatalf("frames() = %d of %d bytes", k, len(data))
			}
			out = append(out, data[:k]...)
			d.carry = append(d.carry[:0], data[k:]...)
		}
		if !bytes.HasPrefix(stream, out) {
			t.Fatalf("forwarded bytes are not a prefix of the stream")
		}
		if string(got) != string(want) || (err != nil) != wantErr {
			t.Fatalf("message types = %q, %v; want %q, error %v", got, err, want, wantErr)
		}
		if err == nil && len(out)+len(d.carry) != len(stream) {
			t.Fatalf("forwarded %d + carried %d bytes of %d", len(out), len(d.carry), len(stream))
		}
	})
}
