package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The fast relay. A session with no interceptor (no [[encrypt]] columns) and no TLS on either leg
// needs nothing from its messages but their boundaries, their types (for metrics, the pending-
// request count and the end of the session) and the severity of the server's ErrorResponses. Such
// a session is handed, after authentication, to an event loop shared by many sessions (the design
// of PgBouncer) instead of running two goroutines: the goroutine relay costs two extra read
// syscalls per round trip (Go's netpoller must see EAGAIN before it waits) and two goroutine
// wake-ups, which on a busy machine is most of the proxy's CPU per statement (issue 2's targets).
// The loop itself is in fastrelay_linux.go; this file holds the portable framing.

// fastStream is one direction of a fast-relayed session. Bytes are forwarded whole messages at a
// time, so the stream to the peer stays at a message boundary and pgseal can still append a
// FATAL of its own at the end; a message too big for the loop's buffer is streamed through
// instead (big counts its bytes still to come).
type fastStream struct {
	carry []byte // the start of a message that did not arrive whole yet
	big   int    // bytes of a streamed message still to forward
	bytes int64  // bytes forwarded
}

// boundary reports whether everything forwarded so far ends at a message boundary.
func (d *fastStream) boundary() bool { return d.big == 0 }

// frames walks p (carry + new bytes) and returns how much of it is whole messages to forward
// now; the rest is carried. handle sees each whole message (header included) and may end the
// session after it: it returns a non-nil error, and the bytes up to and including that message
// are still forwarded. A bad length or an oversize message ends the session before it.
func (d *fastStream) frames(p []byte, bufCap, maxBody int, handle func(typ byte, msg []byte) error) (int, error) {
	i := 0
	if d.big > 0 {
		i = min(d.big, len(p))
		d.big -= i
	}
	for len(p)-i >= 5 {
		typ := p[i]
		length := int64(int32(binary.BigEndian.Uint32(p[i+1:])))
		if length < 4 {
			return i, fmt.Errorf("%w %d for message type %q", errBadLength, length, typ)
		}
		if length-4 > int64(maxBody) {
			return i, fmt.Errorf("%w (%d bytes, limit %d)", errOversize, length-4, maxBody)
		}
		total := 1 + int(length)
		if len(p)-i < total {
			if total > bufCap {
				// It can never sit whole in the buffer: forward it as it comes.
				if err := handle(typ, nil); err != nil {
					return i, err
				}
				d.big = total - (len(p) - i)
				return len(p), nil
			}
			break
		}
		if err := handle(typ, p[i:i+total]); err != nil {
			return i + total, err
		}
		i += total
	}
	return i, nil
}

// clientFrame accounts for one client message.
func (s *session) clientFrame(fs *fastCounts, typ byte) error {
	switch typ {
	case 'Q', 'S', 'F':
		fs.pending++
	case 'X':
		return errClientTerminated
	}
	if c := s.srv.kind[kindOf(typ)]; c != nil {
		c.Inc()
	}
	return nil
}

// serverFrame accounts for one server message: ReadyForQuery ends a pending request, an
// ErrorResponse of severity FATAL or PANIC means the server ends the session itself (then pgseal
// adds no FATAL of its own). A streamed ErrorResponse (over the buffer size) is read as FATAL
// conservatively: at worst the client misses pgseal's extra 08006.
func (s *session) serverFrame(fs *fastCounts, typ byte, msg []byte) {
	switch typ {
	case 'Z':
		if fs.pending > 0 {
			fs.pending--
		}
	case 'G', 'H':
		s.srv.copy.Inc()
	case 'E':
		if msg == nil {
			s.serverFatal = true
			return
		}
		var er pgproto3.ErrorResponse
		if er.Decode(msg[5:]) == nil {
			sev := er.SeverityUnlocalized
			if sev == "" {
				sev = er.Severity
			}
			if sev == "FATAL" || sev == "PANIC" {
				s.serverFatal = true
			}
		}
	}
}

// fastCounts is what the session keeps of a fast relay for its end: requests still unanswered
// (an abandoned query is cancelled when the client vanishes).
type fastCounts struct {
	pending int
}

// release drops the read buffer of a reader that will not be read again (its conn went to the
// fast relay), keeping only the byte count.
func (r *msgReader) release() {
	recycleReader(r.br)
	r.br, r.small = bufio.NewReaderSize(eofReader{}, 16), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
