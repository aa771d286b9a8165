package wire

import (
	"bufio"
	"errors"
	"io"
	"syscall"
)

// Intercepted sessions on the event loop. A session with an interceptor runs the same relay code
// as on goroutines (relay.go, serverloop.go) — clientMessage and serverMessage, the FIFO, refusals,
// COPY — but driven by the loop: a readable socket is read once into the session's reader, and
// every whole message buffered is handled; the writers append to the loop's pending buffers when a
// socket does not take everything (backpressure as for the fast relay: a side is not read while
// what it sent is still pending at the other). A message longer than the reader's buffer is
// accumulated in a grown buffer until it is whole, so a handler never waits for bytes.
//
// What would block is a step of the session instead. The only wait in the relay code is
// SessionInfo.Exec, which an interceptor may call from Request (a catalog reload, a LISTEN lost to
// a client's reset): for a message that may need it (ExecCaller), the loop parks the client side,
// runs that one message on a goroutine (which may then wait for the server's answer, which the
// loop still reads and collects), and resumes the client side when it is done. Meanwhile the
// server side and the loop's other sessions go on. This is rare: after DDL or a pool reset.

// errWouldBlock is the loop source's answer when the socket has nothing more now.
var errWouldBlock = errors.New("would block")

// loopSource reads a loop session's socket without blocking; pre is what the session's reader
// had buffered when the session moved to the loop.
type loopSource struct {
	pre []byte
	fd  int32
}

func (src *loopSource) Read(p []byte) (int, error) {
	if len(src.pre) > 0 {
		n := copy(p, src.pre)
		if src.pre = src.pre[n:]; len(src.pre) == 0 {
			src.pre = nil
		}
		return n, nil
	}
	n, err := rawRead(src.fd, p)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// loopOut is a loop session's writer toward the client (toClient) or the server. On the loop
// thread it writes what the socket takes and appends the rest to the pending buffer; the parked
// client side (a goroutine) hands its bytes for the server to the loop instead.
type loopOut struct {
	l        *relayLoop
	fs       *fastSession
	toClient bool
}

func (o *loopOut) Write(p []byte) (int, error) {
	fs := o.fs
	if fs.parked && !o.toClient {
		fs.parkMu.Lock()
		fs.parkOut = append(fs.parkOut, p...)
		fs.parkMu.Unlock()
		o.l.submit(loopCmd{fs: fs, out: true})
		return len(p), nil
	}
	if fs.ended {
		return 0, errLoopEnded
	}
	fd, pend := fs.out(o.toClient)
	if len(*pend) > 0 {
		*pend = append(*pend, p...)
		return len(p), nil
	}
	rest, err := writeSome(fd, p)
	if err != nil {
		return 0, err
	}
	if len(rest) > 0 {
		*pend = append((*pend)[:0], rest...)
		fs.s.srv.fastPaused.Add(1)
	}
	return len(p), nil
}

var errLoopEnded = errors.New("session ended")

// fillOnce reads once from the source into the buffer, unless it is full. errWouldBlock is not an
// error here; io.EOF is reported as such (the caller knows whether a message was cut short).
func (r *msgReader) fillOnce() error {
	n := r.br.Buffered()
	if n == r.br.Size() {
		return nil
	}
	_, err := r.br.Peek(n + 1)
	if err == nil || err == bufio.ErrBufferFull || errors.Is(err, errWouldBlock) {
		return nil
	}
	return err
}

// want returns the size of the first message buffered when it is incomplete (0 when a whole one
// or less than a header is buffered), so a message bigger than the buffer can be accumulated.
func (r *msgReader) want() int {
	n := r.br.Buffered()
	if n < 5 || !r.idle() {
		return 0
	}
	hdr, _ := r.br.Peek(5)
	length := int64(int32(uint32(hdr[1])<<24 | uint32(hdr[2])<<16 | uint32(hdr[3])<<8 | uint32(hdr[4])))
	if length < 4 || length-4 > int64(r.max) {
		return 0 // next reports it
	}
	return int(1 + length)
}

// loopMode moves an intercepted session's readers and writers onto the loop's sockets, keeping
// what the readers had buffered.
func (s *session) loopMode(l *relayLoop, fs *fastSession) {
	for i, side := range fs.sides() {
		src := &loopSource{pre: buffered(side.r), fd: fs.cfd}
		out := &loopOut{l: l, fs: fs, toClient: i == 1}
		if i == 1 {
			src.fd = fs.sfd
		}
		fs.io[i] = loopIO{src: src, out: out,
			idleR: bufio.NewReaderSize(src, 16), idleW: bufio.NewWriterSize(out, 16)}
		recycleReader(side.r.br)
		recycleWriter((*side.w).bw)
		side.r.br, side.r.small = fs.io[i].idleR, nil
		*side.w = &msgWriter{bw: fs.io[i].idleW}
	}
}

// loopIO is one side of a loop session: its socket as a source, the writer toward the other
// side's socket, and the tiny buffers its reader and writer hold while idle (the real ones go
// back to pools: 1,000 idle sessions must not hold 64 KiB each).
type loopIO struct {
	src   *loopSource
	out   *loopOut
	idleR *bufio.Reader
	idleW *bufio.Writer
}

// loopSide names the reader of one side and the writer toward the other.
type loopSide struct {
	r *msgReader
	w **msgWriter
}

// sides returns the client side (reader cr, writer sw) and the server side (sr, cw).
func (fs *fastSession) sides() [2]loopSide {
	s := fs.s
	return [2]loopSide{{s.cr, &s.sw}, {s.sr, &s.cw}}
}

// wake gives side i's reader and writer real buffers before it is read.
func (fs *fastSession) wake(i int) {
	side, io := fs.sides()[i], &fs.io[i]
	if side.r.br == io.idleR {
		b := readBufs.Get().(*bufio.Reader)
		b.Reset(io.src)
		side.r.br = b
	}
	if w := *side.w; w.bw == io.idleW {
		b := writeBufs.Get().(*bufio.Writer)
		b.Reset(io.out)
		w.bw = b
	}
}

// rest returns side i's empty buffers to the pools.
func (fs *fastSession) rest(i int) {
	if i == 0 && fs.parked {
		return // the parked goroutine owns the client side
	}
	side, io := fs.sides()[i], &fs.io[i]
	r := side.r
	if r.br.Buffered() == 0 {
		r.shrink()
		if r.small == nil && r.br.Buffered() == 0 && r.br != io.idleR {
			recycleReader(r.br)
			r.br = io.idleR
		}
	}
	if w := *side.w; w.bw != io.idleW && w.small == nil && w.bw.Buffered() == 0 {
		recycleWriter(w.bw)
		w.bw = io.idleW
	}
}

// accumulate replaces side i's read buffer by one of size bytes holding what was buffered, for a
// message longer than the buffer; rest drops it once it is empty.
func (fs *fastSession) accumulate(i int, size int) {
	r, src := fs.sides()[i].r, fs.io[i].src
	pre := buffered(r)
	if r.small != nil {
		pre = append(pre, buffered(&msgReader{br: r.small})...)
	}
	n := len(pre)
	src.pre = append(pre, src.pre...)
	r.br, r.small = bufio.NewReaderSize(src, size), nil
	_, _ = r.br.Peek(n) // takes the bytes back from src.pre, so rest does not drop the buffer
}

// buffered copies what r's buffer holds.
func buffered(r *msgReader) []byte {
	if r.br.Buffered() == 0 {
		return nil
	}
	p, _ := r.br.Peek(r.br.Buffered())
	return append([]byte(nil), p...)
}

// readFull is read for an intercepted session: a read, then every whole message handled, and
// again while a read filled the buffer (the socket likely holds more, as for a result longer than
// the buffer), so that one write toward the other side carries it all instead of one per read.
// At most readsPerEvent reads: a session streaming a long result must not keep the loop from the
// others; the level-triggered epoll reports its socket again.
func (l *relayLoop) readFull(fs *fastSession, client bool) {
	if client && fs.parked {
		return
	}
	i, r := 1, fs.s.sr
	if client {
		i, r = 0, fs.s.cr
	}
	fs.wake(i)
	var rerr error
	for reads := 1; ; reads++ {
		rerr = r.fillOnce()
		filled := r.br.Buffered() == r.br.Size()
		if err := l.messages(fs, client); err != nil {
			l.stopFull(fs, err)
			return
		}
		if rerr != nil || !filled || reads == readsPerEvent || (client && fs.parked) || fs.pendingTo(!client) {
			break
		}
	}
	if err := l.flushOther(fs, client); err != nil {
		l.stopFull(fs, err)
		return
	}
	if rerr != nil && !(client && fs.parked) {
		if rerr == io.EOF && r.br.Buffered() > 0 {
			rerr = io.ErrUnexpectedEOF
		}
		l.stopFull(fs, fs.readErr(client, rerr))
		return
	}
	fs.rest(i)
	l.update(fs)
}

// readsPerEvent bounds the reads of one readiness event (readFull).
const readsPerEvent = 8

// handle runs the relay code on every whole message buffered from one side, then flushes the
// other side's writer.
func (l *relayLoop) handle(fs *fastSession, client bool) error {
	if err := l.messages(fs, client); err != nil {
		return err
	}
	return l.flushOther(fs, client)
}

// messages runs the relay code on every whole message buffered from one side. A client message
// that may wait for Exec parks the client side (park).
func (l *relayLoop) messages(fs *fastSession, client bool) error {
	s := fs.s
	i, r := 1, s.sr
	if client {
		i, r = 0, s.cr
	}
	fs.wake(i)
	before := r.bytes
	defer func() {
		if client {
			s.srv.m.BytesIn.Add(float64(r.bytes - before))
		} else {
			s.srv.m.BytesOut.Add(float64(r.bytes - before))
		}
	}()
	for !(client && fs.parked) {
		if r.idle() {
			if need := r.want(); need > r.br.Size() && r.br.Buffered() == r.br.Size() {
				// The next reads go to a buffer twice as big, up to the message's size: memory
				// grows with the bytes that arrive, not with the length a header claims.
				fs.accumulate(i, min(need, 2*r.br.Size()))
			}
			return nil
		}
		typ, err := r.next()
		if err != nil {
			return fs.readErr(client, err)
		}
		if client && s.mayExec(typ) {
			l.park(fs, typ)
			return nil
		}
		if client {
			err = s.clientMessage(typ)
		} else {
			err = s.serverMessage(typ)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// flushOther flushes the writer toward the other side, unless the client side is parked (the
// parked message's goroutine flushes).
func (l *relayLoop) flushOther(fs *fastSession, client bool) error {
	if client && fs.parked {
		return nil
	}
	i := 1
	if client {
		i = 0
	}
	if err := (*fs.sides()[i].w).flush(); err != nil {
		return fs.writeErr(!client, err)
	}
	return nil
}

// fullRelay prepares an intercepted session for loop l (fs holds the duplicated sockets).
func (s *session) fullRelay(l *relayLoop, fs *fastSession) error {
	err := s.flushClient()
	if err == nil {
		err = s.toServerErr(s.sw.flush())
	}
	s.loopMode(l, fs)
	_ = s.client.Close()
	_ = s.server.Close()
	s.relaying = true
	return err
}

// restoreFull is an intercepted session's part of giveBack.
func (fs *fastSession) restoreFull() (partial bool) {
	s := fs.s
	partial = s.cw.partial || len(fs.toClient) > 0 || s.cw.buffered() > 0
	s.cr.release() // nothing is read any more
	s.sr.release()
	return partial
}

// resumeBoth handles what both readers already hold (a session just added to the loop).
func (l *relayLoop) resumeBoth(fs *fastSession) {
	for i, client := range []bool{true, false} {
		if err := l.handle(fs, client); err != nil {
			l.stopFull(fs, err)
			return
		}
		fs.rest(i)
	}
	l.update(fs)
}
