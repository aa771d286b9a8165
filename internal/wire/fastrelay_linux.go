package wire

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

// fastBufSize is the loop's read buffer, shared by its sessions (reads are handled one at a
// time). PostgreSQL sends in 8 KiB chunks; 64 KiB lets a burst of rows go out in one write.
const fastBufSize = 64 << 10

// relayLoop is one event loop: an epoll instance (level-triggered, so a readable socket is read
// once per wake-up, never until EAGAIN) and the goroutine that waits on it. The wait is a plain
// blocking syscall, so a wake-up is the kernel waking this thread, as for PgBouncer. Sessions are
// added and removed through a command queue and an eventfd that wakes the loop.
type relayLoop struct {
	epfd, evfd int
	buf        []byte
	fds        map[int32]*fastSession // loop goroutine only

	mu   sync.Mutex
	cmds []loopCmd
	load int // sessions assigned, for picking the least loaded loop (guarded by fastLoops.mu)
	done chan struct{}
}

type loopCmd struct {
	fs    *fastSession
	add   bool
	cause error // remove fs with this error (the session was killed)
	stop  bool
}

// fastSession is a session on a loop.
type fastSession struct {
	s        *session
	cfd, sfd int32
	up, down fastStream // client->server, server->client
	toServer []byte     // bytes the server's socket did not take yet
	toClient []byte
	counts   fastCounts
	onClient func(byte, []byte) error
	onServer func(byte, []byte) error

	interest [2]uint32 // current epoll events of cfd, sfd
	draining bool      // ending: only flushing what is pending
	ended    bool
	err      error
	done     chan struct{}
}

// fastLoops is a Server's set of loops, started with the first fast session and stopped when
// the last Serve returns.
type fastLoops struct {
	mu     sync.Mutex
	loops  []*relayLoop
	serves int
}

// fastRelayable reports whether s can use the fast relay.
func (s *session) fastRelayable() bool {
	if s.icpt != nil || s.info.TLS || runtime.GOMAXPROCS(0) < 2 {
		// With one P, a loop blocked in epoll_wait would hold the only P until sysmon takes it.
		return false
	}
	_, ok1 := s.client.(*net.TCPConn)
	_, ok2 := s.server.(*net.TCPConn)
	return ok1 && ok2 && s.srv.fastEnabled
}

// takeFD duplicates c's descriptor for the loop. The conn itself is closed once the handoff is
// done: that removes the socket from Go's netpoller, which would otherwise wake up for every
// packet the loop reads (the socket stays open through the duplicate).
func takeFD(c net.Conn) (int32, error) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := rc.Control(func(f uintptr) {
		syscall.ForkLock.RLock()
		if fd, err = syscall.Dup(int(f)); err == nil {
			syscall.CloseOnExec(fd)
			err = syscall.SetNonblock(fd, true)
		}
		syscall.ForkLock.RUnlock()
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		if fd >= 0 {
			_ = syscall.Close(fd)
		}
		return -1, err
	}
	return int32(fd), nil
}

// giveFD turns a descriptor back into a conn for the session's end (a FATAL, the linger, the
// close), consuming fd. On failure it returns old (closed: writes to it just fail).
func giveFD(fd int32, old net.Conn) net.Conn {
	f := os.NewFile(uintptr(fd), "pgseal-relay")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return old
	}
	return c
}

// fastRelay runs the relay phase on a loop, then gives the session its conns back for finish.
// It returns errNoFastRelay, having touched nothing, when the loop cannot take the session.
func (s *session) fastRelay() error {
	l, err := s.srv.loops.pick()
	if err != nil {
		s.srv.log.Warn("fast relay unavailable; using the goroutine relay", zap.Error(err))
		return errNoFastRelay
	}
	defer s.srv.loops.release(l)
	cfd, err := takeFD(s.client)
	if err != nil {
		return errNoFastRelay
	}
	sfd, err := takeFD(s.server)
	if err != nil {
		_ = syscall.Close(int(cfd))
		return errNoFastRelay
	}
	fs := &fastSession{s: s, cfd: cfd, sfd: sfd, done: make(chan struct{})}
	fs.onClient = func(typ byte, _ []byte) error { return s.clientFrame(&fs.counts, typ) }
	fs.onServer = func(typ byte, msg []byte) error { s.serverFrame(&fs.counts, typ, msg); return nil }
	defer func() {
		s.cr.bytes += fs.up.bytes
		s.sr.bytes += fs.down.bytes
		s.fastPending = fs.counts.pending
		partial := !fs.down.boundary() || len(fs.toClient) > 0
		s.client = giveFD(cfd, s.client)
		s.clientRaw = s.client
		s.server = giveFD(sfd, s.server)
		s.cw = newMsgWriter(s.client)
		s.cw.partial = partial
		_ = s.track(s.client)
		_ = s.track(s.server)
	}()
	// Whatever the startup phases left buffered belongs to the stream: forward it first.
	err = s.fastHandoff(fs)
	_ = s.client.Close()
	_ = s.server.Close()
	s.cr.release()
	s.sr.release()
	s.sw.bw, s.cw.bw = nil, nil // not used again: finish writes through a new client writer
	if err != nil {
		return err
	}
	s.srv.fastUsed.Add(1)
	l.submit(loopCmd{fs: fs, add: true})
	select {
	case <-fs.done:
	case <-s.ctx.Done():
		l.submit(loopCmd{fs: fs, cause: context.Cause(s.ctx)})
		<-fs.done
	}
	return fs.err
}

var errNoFastRelay = errors.New("fast relay unavailable")

// fastHandoff frames and forwards the bytes buffered in the session's readers and flushes its
// writers, so the loop starts at a clean point in both streams.
func (s *session) fastHandoff(fs *fastSession) error {
	if err := s.flushClient(); err != nil {
		return err
	}
	werr, ferr := handoffBuffered(s.cr, s.sw, &fs.up, fs.onClient)
	if werr == nil {
		werr = s.sw.flush()
	}
	switch {
	case werr != nil:
		return &serverError{werr}
	case ferr != nil:
		return s.clientReadErr(ferr)
	}
	werr, ferr = handoffBuffered(s.sr, s.cw, &fs.down, fs.onServer)
	if werr == nil {
		werr = s.cw.flush()
	}
	switch {
	case werr != nil:
		return &clientError{werr}
	case ferr != nil:
		return s.serverReadErr(ferr)
	}
	return nil
}

// handoffBuffered forwards the whole messages buffered in r to w and keeps the rest as d's carry;
// it returns the write error and the framing error (the bytes before a bad header still go).
func handoffBuffered(r *msgReader, w *msgWriter, d *fastStream, handle func(byte, []byte) error) (werr, ferr error) {
	n := r.br.Buffered()
	if n == 0 {
		return nil, nil
	}
	p, _ := r.br.Peek(n)
	k, ferr := d.frames(p, fastBufSize, r.max, handle)
	d.carry = append(d.carry, p[k:]...)
	d.bytes += int64(k)
	werr = w.write(p[:k])
	_, _ = r.br.Discard(n)
	return werr, ferr
}

// pick returns the least loaded loop, starting the loops on first use.
func (fl *fastLoops) pick() (*relayLoop, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.loops == nil {
		n := max(1, runtime.GOMAXPROCS(0)/2)
		for range n {
			l, err := newRelayLoop()
			if err != nil {
				for _, l := range fl.loops {
					l.submit(loopCmd{stop: true})
					<-l.done
				}
				fl.loops = nil
				return nil, err
			}
			fl.loops = append(fl.loops, l)
			go l.run()
		}
	}
	best := fl.loops[0]
	for _, l := range fl.loops[1:] {
		if l.load < best.load {
			best = l
		}
	}
	best.load++
	return best, nil
}

func (fl *fastLoops) release(l *relayLoop) {
	fl.mu.Lock()
	l.load--
	fl.mu.Unlock()
}

// serving counts Serve calls; the loops stop when the last one returns (every session has ended
// by then).
func (fl *fastLoops) serving(delta int) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.serves += delta
	if fl.serves > 0 || fl.loops == nil {
		return
	}
	for _, l := range fl.loops {
		l.submit(loopCmd{stop: true})
		<-l.done
	}
	fl.loops = nil
}

func newRelayLoop() (*relayLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		_ = syscall.Close(epfd)
		return nil, errno
	}
	l := &relayLoop{epfd: epfd, evfd: int(evfd), buf: make([]byte, fastBufSize), fds: map[int32]*fastSession{},
		done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(evfd), &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(int(evfd))
		return nil, err
	}
	return l, nil
}

// submit queues a command and wakes the loop.
func (l *relayLoop) submit(c loopCmd) {
	l.mu.Lock()
	l.cmds = append(l.cmds, c)
	l.mu.Unlock()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		if _, err := syscall.Write(l.evfd, one[:]); err != syscall.EINTR {
			return // EAGAIN: the counter is saturated, the loop is awake anyway
		}
	}
}

func (l *relayLoop) run() {
	defer close(l.done)
	events := make([]syscall.EpollEvent, 128)
	yielded := time.Now()
	for {
		// Yield every few milliseconds. A goroutine that never reschedules looks to sysmon like
		// one running for over 10 ms (forcePreemptNS); sysmon then takes the P away at the next
		// syscall and goes back to polling every 20 µs, which costs more than the relay itself.
		// Each yield wakes an idle P (a futex round trip), so not more often than needed: a
		// schedule tick every 5 ms is always newer than sysmon's 10 ms window.
		if now := time.Now(); now.Sub(yielded) > 5*time.Millisecond {
			runtime.Gosched()
			yielded = now
		}
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// Cannot happen with valid arguments; end every session rather than spin.
			for _, fs := range l.fds {
				l.end(fs, &serverError{err})
			}
			n = 0
		}
		for _, ev := range events[:n] {
			if ev.Fd == int32(l.evfd) {
				if l.commands() {
					_ = syscall.Close(l.epfd)
					_ = syscall.Close(l.evfd)
					return
				}
				continue
			}
			if fs := l.fds[ev.Fd]; fs != nil {
				l.event(fs, ev.Fd, ev.Events)
			}
		}
	}
}

// commands runs the queued commands; it reports whether the loop should stop.
func (l *relayLoop) commands() bool {
	var b [8]byte
	_, _ = syscall.Read(l.evfd, b[:])
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	stop := false
	for _, c := range cmds {
		switch {
		case c.stop:
			stop = true
		case c.add:
			l.add(c.fs)
		default:
			if !c.fs.ended {
				l.end(c.fs, c.cause)
			}
		}
	}
	return stop && len(l.fds) == 0
}

func (l *relayLoop) add(fs *fastSession) {
	fs.interest = [2]uint32{syscall.EPOLLIN, syscall.EPOLLIN}
	for _, fd := range []int32{fs.cfd, fs.sfd} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: fd}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
			if fd == fs.sfd {
				_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fs.cfd), nil)
			}
			fs.ended, fs.err = true, &serverError{err}
			close(fs.done)
			return
		}
	}
	l.fds[fs.cfd], l.fds[fs.sfd] = fs, fs
	// Bytes carried over from the handoff may already hold whole messages once more arrive;
	// nothing to do until then.
}

// end removes fs from the loop and hands it back to its session goroutine.
func (l *relayLoop) end(fs *fastSession, err error) {
	if fs.ended {
		return
	}
	fs.ended = true
	if fs.err == nil {
		fs.err = err
	}
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fs.cfd), nil)
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fs.sfd), nil)
	delete(l.fds, fs.cfd)
	delete(l.fds, fs.sfd)
	close(fs.done)
}

// event handles readiness of one of fs's sockets. A hang-up or error is reported whatever the
// interest, so it is acted on even while the socket's side is paused: reading it then ends the
// session instead of waking the loop again and again.
func (l *relayLoop) event(fs *fastSession, fd int32, events uint32) {
	client := fd == fs.cfd
	hup := events&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0
	if events&syscall.EPOLLOUT != 0 || (hup && fs.pendingTo(client)) {
		if !l.flush(fs, client) {
			return
		}
	}
	if fs.draining {
		if hup {
			l.forget(fs, client)
		}
		return
	}
	if hup || (events&syscall.EPOLLIN != 0 && !fs.pendingTo(!client)) {
		l.read(fs, client)
	}
}

// forget stops watching a hung-up socket of a draining session that has nothing pending for it.
func (l *relayLoop) forget(fs *fastSession, client bool) {
	i, fd := 1, fs.sfd
	if client {
		i, fd = 0, fs.cfd
	}
	if !fs.pendingTo(client) && fs.interest[i] != fastForgotten {
		_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		fs.interest[i] = fastForgotten
	}
}

// fastForgotten marks a socket no longer in the epoll set.
const fastForgotten = 1 << 31

func (fs *fastSession) pendingTo(client bool) bool {
	if client {
		return len(fs.toClient) > 0
	}
	return len(fs.toServer) > 0
}

// read takes one read's worth from the client (client) or the server and forwards its whole
// messages to the other side.
func (l *relayLoop) read(fs *fastSession, client bool) {
	s := fs.s
	d, src, max, handle := &fs.down, fs.sfd, s.sr.max, fs.onServer
	if client {
		d, src, max, handle = &fs.up, fs.cfd, s.cr.max, fs.onClient
	}
	n0 := copy(l.buf, d.carry)
	n, err := rawRead(src, l.buf[n0:])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err == nil && n == 0:
		err = io.EOF
		if n0 > 0 || d.big > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		l.stop(fs, fs.readErr(client, err))
		return
	}
	data := l.buf[:n0+n]
	k, ferr := d.frames(data, len(l.buf), max, handle)
	if k == len(data) && cap(d.carry) > 4<<10 {
		d.carry = nil // idle sessions keep no big buffers
	} else {
		d.carry = append(d.carry[:0], data[k:]...)
	}
	d.bytes += int64(k)
	if k > 0 {
		if client {
			s.srv.m.BytesIn.Add(float64(k))
		} else {
			s.srv.m.BytesOut.Add(float64(k))
		}
		if !l.send(fs, !client, data[:k]) {
			return
		}
	}
	if ferr != nil {
		if !errors.Is(ferr, errClientTerminated) {
			ferr = fs.readErr(client, ferr)
		}
		l.stop(fs, ferr)
	}
}

func (fs *fastSession) readErr(client bool, err error) error {
	if client {
		return fs.s.clientReadErr(err)
	}
	return fs.s.serverReadErr(err)
}

// send writes p to the client (toClient) or the server, keeping what the socket does not take
// and pausing the source until it is flushed. It reports false when the session ended.
func (l *relayLoop) send(fs *fastSession, toClient bool, p []byte) bool {
	fd, pend := fs.out(toClient)
	if len(*pend) > 0 {
		*pend = append(*pend, p...)
		return true
	}
	rest, err := writeSome(fd, p)
	if err != nil {
		l.end(fs, fs.writeErr(toClient, err))
		return false
	}
	if len(rest) > 0 {
		*pend = append((*pend)[:0], rest...)
		fs.s.srv.fastPaused.Add(1)
		l.update(fs)
	}
	return true
}

// out returns the socket toward the client (toClient) or the server and the bytes pending for it.
func (fs *fastSession) out(toClient bool) (int32, *[]byte) {
	if toClient {
		return fs.cfd, &fs.toClient
	}
	return fs.sfd, &fs.toServer
}

// writeSome writes p until the socket takes no more (EAGAIN) and returns what is left.
func writeSome(fd int32, p []byte) ([]byte, error) {
	for len(p) > 0 {
		n, err := rawWrite(fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return p, nil
		case err != nil:
			return p, err
		}
		p = p[n:]
	}
	return nil, nil
}

func (fs *fastSession) writeErr(toClient bool, err error) error {
	if toClient {
		return &clientError{err}
	}
	return &serverError{err}
}

// flush writes pending bytes to the client (toClient) or the server; false when the session
// ended.
func (l *relayLoop) flush(fs *fastSession, toClient bool) bool {
	fd, pend := fs.out(toClient)
	rest, err := writeSome(fd, *pend)
	if err != nil {
		l.end(fs, fs.writeErr(toClient, err))
		return false
	}
	if *pend = rest; len(rest) > 0 {
		return true
	}
	*pend = nil // backpressure is the exception: idle sessions keep no buffers
	if fs.draining && len(fs.toClient) == 0 && len(fs.toServer) == 0 {
		l.end(fs, nil)
		return false
	}
	l.update(fs)
	return true
}

// stop begins the end of a session: what is pending still goes out, then the session ends with
// err.
func (l *relayLoop) stop(fs *fastSession, err error) {
	if fs.err == nil {
		fs.err = err
	}
	fs.draining = true
	if len(fs.toClient) == 0 && len(fs.toServer) == 0 {
		l.end(fs, err)
		return
	}
	l.update(fs)
}

// update sets each socket's epoll events: read a side only while nothing it sent is still
// pending at the other side (backpressure), write a side while something is pending for it.
func (l *relayLoop) update(fs *fastSession) {
	want := [2]uint32{}
	if !fs.draining && len(fs.toServer) == 0 {
		want[0] |= syscall.EPOLLIN
	}
	if len(fs.toClient) > 0 {
		want[0] |= syscall.EPOLLOUT
	}
	if !fs.draining && len(fs.toClient) == 0 {
		want[1] |= syscall.EPOLLIN
	}
	if len(fs.toServer) > 0 {
		want[1] |= syscall.EPOLLOUT
	}
	for i, fd := range []int32{fs.cfd, fs.sfd} {
		if want[i] == fs.interest[i] || fs.interest[i] == fastForgotten {
			continue
		}
		ev := syscall.EpollEvent{Events: want[i], Fd: fd}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev); err != nil {
			l.end(fs, &serverError{err})
			return
		}
		fs.interest[i] = want[i]
	}
}

// rawRead and rawWrite are read(2) and write(2) on the loop's non-blocking sockets without the
// runtime's syscall bookkeeping (entersyscall/exitsyscall): they never block, so the P need not be
// offered to others, and sysmon has nothing to take back.
func rawRead(fd int32, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawWrite(fd int32, p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
