package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Buffer sizes per connection and direction. PostgreSQL itself sends in 8 KiB chunks
// (PQ_SEND_BUFFER_SIZE), so a bigger buffer buys little throughput and costs memory on every idle
// connection (issue 2: 1,000 idle connections under 100 MiB).
const (
	readBufSize  = 16 << 10
	writeBufSize = 16 << 10
	// scratchKeep is the largest decode buffer kept between messages; bigger ones are dropped so one
	// huge message does not pin memory for the rest of the session.
	scratchKeep = 64 << 10
)

// msgReader frames one direction of a regular (post-startup) message stream: a type byte and an
// int32 length that counts itself (protocol docs, "Message Formats"). It forwards messages nobody
// needs as raw bytes and decodes only on request. The body it returns is valid until the next call
// to next; copy whatever outlives it.
type msgReader struct {
	br      *bufio.Reader
	small   *bufio.Reader // the regular buffer while br is a grown one reading through it
	max     int           // largest accepted body length
	scratch []byte
	bytes   int64 // bytes consumed, for metrics

	typ  byte
	n    int // body length of the current message
	hdr  [5]byte
	raw  []byte // header+body when the whole message sits in br (valid until the next read)
	body []byte // the body once loaded
	done bool   // current message consumed
}

// errOversize and errBadLength are framing errors; the caller maps them to 08P01.
var (
	errOversize  = errors.New("message exceeds max_message_size")
	errBadLength = errors.New("invalid message length")
)

func newMsgReader(r io.Reader, maxBody int) *msgReader {
	br := readBufs.Get().(*bufio.Reader)
	br.Reset(r)
	return &msgReader{br: br, max: maxBody, done: true}
}

// readBufs and writeBufs hold the regular buffers. A session moving to an event loop gives its
// buffers back (recycle), and the loop takes them only while a socket is being read: a burst of
// new sessions then reuses a few buffers instead of leaving 64 KiB of garbage each.
var (
	readBufs  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}
	writeBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}
)

// recycleReader returns br to the pool if it is a regular buffer (grown ones are dropped).
func recycleReader(br *bufio.Reader) {
	if br != nil && br.Size() == readBufSize {
		br.Reset(nil)
		readBufs.Put(br)
	}
}

// recycleWriter returns bw to the pool if it is a regular buffer.
func recycleWriter(bw *bufio.Writer) {
	if bw != nil && bw.Size() == writeBufSize {
		bw.Reset(nil)
		writeBufs.Put(bw)
	}
}

// grow switches to a buffer of size bytes while a long result streams in, so that rows arrive in
// runs of a thousand instead of eighty (internal/seal/rows.go decrypts a run as one batch) and with a
// sixteenth of the read calls. The new buffer reads through the regular one, which it drains
// first, so no byte changes place in the stream. Call it only between messages: after next, with
// no body loaded or peeked.
func (r *msgReader) grow(size int) {
	if r.small != nil || r.br.Size() >= size || r.body != nil {
		return
	}
	g, _ := grownReaders.Get().(*bufio.Reader)
	if g == nil || g.Size() != size {
		g = bufio.NewReaderSize(r.br, size)
	}
	g.Reset(r.br)
	r.small, r.br = r.br, g
	_, _ = r.br.Peek(r.br.Buffered() + 1) // takes what the regular buffer holds; cannot block
}

// grownReaders pools the buffers grow makes, which shrink returns: a result of a few hundred rows
// would otherwise allocate and clear 256 KiB (≈ 3% of pgseal's CPU for a 100-row range query of
// 400-byte envelopes).
var grownReaders sync.Pool

// shrink returns to the regular buffer once the grown one is empty (what is left of the stream is
// then in the regular buffer and the connection), so idle sessions keep only 16 KiB.
func (r *msgReader) shrink() {
	if r.small != nil && r.br.Buffered() == 0 {
		g := r.br
		r.br, r.small = r.small, nil
		r.raw, r.body = nil, nil // consumed (nothing is buffered); they must not alias a pooled buffer
		g.Reset(nil)
		grownReaders.Put(g)
	}
}

// next reads the next message header. io.EOF means the peer closed at a message boundary.
func (r *msgReader) next() (byte, error) {
	if !r.done {
		if err := r.skip(); err != nil {
			return 0, err
		}
	}
	if cap(r.scratch) > scratchKeep {
		r.scratch = nil
	}
	hdr, err := r.br.Peek(5)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	length := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
	if length < 4 {
		return 0, fmt.Errorf("%w %d for message type %q", errBadLength, length, hdr[0])
	}
	if length-4 > int64(r.max) {
		return 0, fmt.Errorf("%w (%d bytes, limit %d)", errOversize, length-4, r.max)
	}
	copy(r.hdr[:], hdr)
	r.typ, r.n, r.raw, r.body, r.done = hdr[0], int(length-4), nil, nil, false
	r.bytes += int64(5 + r.n)
	return r.typ, nil
}

// load makes the whole body of the current message available (and consumes it).
func (r *msgReader) load() ([]byte, error) {
	if r.body != nil || r.n == 0 {
		r.done = true
		if r.body == nil {
			if _, err := r.br.Discard(5); err != nil {
				return nil, err
			}
			r.raw, r.body = r.hdr[:], []byte{}
		}
		return r.body, nil
	}
	if 5+r.n <= r.br.Size() {
		p, err := r.br.Peek(5 + r.n)
		if err != nil {
			return nil, unexpected(err)
		}
		r.raw, r.body = p, p[5:]
		_, _ = r.br.Discard(5 + r.n) // cannot fail: the bytes are buffered
		r.done = true
		return r.body, nil
	}
	if _, err := r.br.Discard(5); err != nil {
		return nil, err
	}
	if cap(r.scratch) < r.n {
		r.scratch = make([]byte, r.n)
	}
	r.body = r.scratch[:r.n]
	if _, err := io.ReadFull(r.br, r.body); err != nil {
		return nil, unexpected(err)
	}
	r.done = true
	return r.body, nil
}

// peekRun appends to dst the bodies of the current message (read by next, not yet loaded) and
// of the complete messages of the same type that directly follow it in the buffer, at most max,
// without consuming them or reading from the connection. The bodies stay valid while the run is
// consumed in order with next and load (the buffer is not refilled while it holds what is read).
// A message with an invalid length ends the run; next reports it when it gets there.
func (r *msgReader) peekRun(dst [][]byte, max int) [][]byte {
	if r.done || r.body != nil {
		return dst
	}
	buf, _ := r.br.Peek(r.br.Buffered()) // cannot block: only what is buffered
	for len(dst) < max {
		n := r.sameWhole(buf)
		if n == 0 {
			break
		}
		dst = append(dst, buf[5:n:n])
		buf = buf[n:]
	}
	return dst
}

// sameWhole is the length of the message at the start of buf when it is complete, valid and of the
// current message's type, else 0: one step of a run (peekRun, forwardRun).
func (r *msgReader) sameWhole(buf []byte) int {
	if len(buf) < 5 || buf[0] != r.typ {
		return 0
	}
	length := int64(int32(binary.BigEndian.Uint32(buf[1:5])))
	if length < 4 || length-4 > int64(r.max) || int64(len(buf)) < 1+length {
		return 0
	}
	return int(1 + length)
}

// skip drops the current message unread.
func (r *msgReader) skip() error {
	if r.done {
		return nil
	}
	r.done = true
	if _, err := r.br.Discard(5 + r.n); err != nil {
		return unexpected(err)
	}
	return nil
}

// forward writes the current message to w unchanged: from the buffer when it fits, else streamed
// through so a 16 MiB row never sits in memory twice.
func (r *msgReader) forward(w *msgWriter) error {
	if r.done {
		if r.raw != nil && len(r.raw) == 5+r.n {
			return w.write(r.raw)
		}
		w.partial = true
		if err := w.write(r.hdr[:]); err != nil {
			return err
		}
		if err := w.write(r.body); err != nil {
			return err
		}
		w.partial = false
		return nil
	}
	if 5+r.n <= r.br.Size() {
		p, err := r.br.Peek(5 + r.n)
		if err != nil {
			return unexpected(err)
		}
		r.done = true
		if err := w.write(p); err != nil {
			return err
		}
		_, _ = r.br.Discard(5 + r.n)
		return nil
	}
	r.done = true
	w.partial = true
	if err := w.write(r.hdr[:]); err != nil {
		return err
	}
	if _, err := r.br.Discard(5); err != nil {
		return unexpected(err)
	}
	if _, err := io.CopyN(w.bw, r.br, int64(r.n)); err != nil {
		return unexpected(err)
	}
	w.partial = false
	return nil
}

// forwardRun forwards the current message (read by next, not loaded) together with the complete
// messages of the same type that directly follow it in the buffer, in one write and without
// reading from the connection: the DataRows of a result nobody decodes then cost one copy per
// buffer instead of a call per row (and a look at the FIFO per row, serverMessage). A message
// that does not fit the buffer goes through forward; one with an invalid length ends the run and
// next reports it.
func (r *msgReader) forwardRun(w *msgWriter) error {
	if r.done || r.body != nil || 5+r.n > r.br.Buffered() {
		return r.forward(w)
	}
	buf, _ := r.br.Peek(r.br.Buffered()) // cannot block: only what is buffered
	end := 5 + r.n
	for n := r.sameWhole(buf[end:]); n > 0; n = r.sameWhole(buf[end:]) {
		r.bytes += int64(n)
		end += n
	}
	r.done = true
	if err := w.write(buf[:end]); err != nil {
		return err
	}
	_, _ = r.br.Discard(end) // cannot fail: the bytes are buffered
	return nil
}

// idle reports whether no complete message is buffered, so that the next read may block: the
// moment to flush the other side. (Buffered() == 0 is not enough: a partial message in the buffer
// would hold back everything written before it until the rest arrives.)
func (r *msgReader) idle() bool {
	n := r.br.Buffered()
	if n < 5 {
		return true
	}
	hdr, _ := r.br.Peek(5) // cannot block: 5 bytes are buffered
	length := int64(binary.BigEndian.Uint32(hdr[1:]))
	return int64(n) < 1+length
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// msgWriter batches messages to one peer. partial is set while a message is half written, when a
// proxy-originated FATAL can no longer be appended cleanly.
type msgWriter struct {
	bw      *bufio.Writer
	small   *bufio.Writer // the regular buffer while bw is a grown one writing through it
	partial bool
	failed  bool
}

// grow switches to a buffer of size bytes until the next flush, while a long result streams: the
// rows a grown read buffer holds (msgReader.grow) then leave in one write instead of a write per
// 16 KiB (≈ 200 writes for the 3.4 MB of a decrypted 100,000-row result of one short text
// column). The grown buffer writes through the regular one, so no byte changes place in the
// stream.
func (w *msgWriter) grow(size int) {
	if w.small != nil || w.bw.Size() >= size {
		return
	}
	g, _ := grownWriters.Get().(*bufio.Writer)
	if g == nil || g.Size() != size {
		g = bufio.NewWriterSize(w.bw, size)
	}
	g.Reset(w.bw)
	w.small, w.bw = w.bw, g
}

// grownWriters pools the buffers grow makes, which flush returns.
var grownWriters sync.Pool

// buffered is the number of bytes written but not yet flushed.
func (w *msgWriter) buffered() int {
	n := w.bw.Buffered()
	if w.small != nil {
		n += w.small.Buffered()
	}
	return n
}

func newMsgWriter(w io.Writer) *msgWriter {
	bw := writeBufs.Get().(*bufio.Writer)
	bw.Reset(w)
	return &msgWriter{bw: bw}
}

// newEndWriter is a writer for a session's last messages (a FATAL): no regular buffer.
func newEndWriter(w io.Writer) *msgWriter { return &msgWriter{bw: bufio.NewWriterSize(w, 512)} }

func (w *msgWriter) write(p []byte) error {
	if _, err := w.bw.Write(p); err != nil {
		w.failed = true
		return err
	}
	return nil
}

// encoder is what pgproto3 messages implement.
type encoder interface {
	Encode(dst []byte) ([]byte, error)
}

// send encodes and writes one message.
func (w *msgWriter) send(m encoder) error {
	b, err := m.Encode(w.bw.AvailableBuffer())
	if err != nil {
		return fmt.Errorf("encode %T: %w", m, err)
	}
	return w.write(b)
}

func (w *msgWriter) flush() error {
	err := w.bw.Flush()
	if w.small != nil && err == nil {
		err = w.small.Flush() // the grown buffer's last bytes may sit in the regular one
	}
	if err != nil {
		w.failed = true
		return err
	}
	if g := w.bw; w.small != nil {
		w.bw, w.small = w.small, nil
		g.Reset(nil)
		grownWriters.Put(g)
	}
	return nil
}

// clean reports whether a proxy message can still be appended at a message boundary.
func (w *msgWriter) clean() bool { return !w.partial && !w.failed }
