package wire

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"

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
	// fds maps a descriptor to its session (loop goroutine only): a slice indexed by the
	// descriptor, which the kernel keeps small and dense, looked up once per event; a map's
	// look-up was about 1% of the relay's CPU. nfds counts the sessions' descriptors in it.
	fds  []*fastSession
	nfds int

	mu   sync.Mutex
	cmds []loopCmd
	load int // sessions assigned, for picking the least loaded loop (guarded by fastLoops.mu)
	done chan struct{}
}

type loopCmd struct {
	fs     *fastSession
	add    bool
	cause  error // remove fs with this error (the session was killed); a parked message's outcome
	stop   bool
	out    bool // the parked client side wrote for the server (loopseal_linux.go)
	resume bool // the parked client message is done
}

// fastSession is a session on a loop.
type fastSession struct {
	s        *session
	cfd, sfd int32
	up, down fastStream // client->server, server->client
	toServer []byte     // bytes the server's socket did not take yet
	toClient []byte
	counts   fastCounts
	l        *relayLoop
	restore  func() bool // the mode's part of giveBack (restorePlain, restoreFull): partial
	unwatch  func() bool // stops the kill watch
	onClient func(byte, []byte) error
	onServer func(byte, []byte) error

	// full: the session has an interceptor and runs the whole relay code on the loop
	// (loopseal_linux.go) instead of framing only.
	full   bool
	added  bool  // loop thread: the add command ran
	killed error // loop thread: a kill that came before the add
	parkState

	interest [2]uint32 // current epoll events of cfd, sfd
	draining bool      // ending: only flushing what is pending
	ended    bool
	err      error
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
	if s.info.TLS || runtime.GOMAXPROCS(0) < 2 {
		// With one P, a loop blocked in epoll_wait would hold the only P until sysmon takes it.
		// TLS: crypto/tls has no non-blocking API (docs/design.md, "The relay").
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

// fastRelay hands the relay phase to a loop and returns errOnLoop: the session goroutine ends
// there, and the loop ends the session on a goroutine of its own (finishLoop). It returns
// errNoFastRelay, having touched nothing, when the loop cannot take the session.
func (s *session) fastRelay() error {
	l, err := s.srv.loops.pick()
	if err != nil {
		s.srv.log.Warn("fast relay unavailable; using the goroutine relay", zap.Error(err))
		return errNoFastRelay
	}
	cfd, err := takeFD(s.client)
	if err != nil {
		s.srv.loops.release(l)
		return errNoFastRelay
	}
	sfd, err := takeFD(s.server)
	if err != nil {
		_ = syscall.Close(int(cfd))
		s.srv.loops.release(l)
		return errNoFastRelay
	}
	fs := &fastSession{s: s, l: l, cfd: cfd, sfd: sfd, full: s.icpt != nil}
	if fs.full {
		fs.restore = fs.restoreFull
		err = s.fullRelay(l, fs)
	} else {
		fs.restore = fs.restorePlain
		err = s.plainRelay(fs)
	}
	if err != nil {
		fs.giveBack() // not on the loop yet: the session goroutine ends it as usual
		return err
	}
	s.srv.fastUsed.Add(1)
	// A kill may be queued before the add: the loop keeps its cause for add (loopCmd).
	fs.unwatch = context.AfterFunc(s.ctx, func() { l.submit(loopCmd{fs: fs, cause: context.Cause(s.ctx)}) })
	l.submit(loopCmd{fs: fs, add: true})
	return errOnLoop
}

// plainRelay prepares a session without interceptor: framing only.
func (s *session) plainRelay(fs *fastSession) error {
	fs.onClient = func(typ byte, _ []byte) error { return s.clientFrame(&fs.counts, typ) }
	fs.onServer = func(typ byte, msg []byte) error { s.serverFrame(&fs.counts, typ, msg); return nil }
	// Whatever the startup phases left buffered belongs to the stream: forward it first.
	err := s.fastHandoff(fs)
	_ = s.client.Close()
	_ = s.server.Close()
	s.cr.release()
	s.sr.release()
	recycleWriter(s.sw.bw)
	recycleWriter(s.cw.bw)
	s.sw.bw, s.cw.bw = nil, nil // not used again: finish writes through a new client writer
	return err
}

// restorePlain is a plain session's part of giveBack: what the loop counted goes to the session.
func (fs *fastSession) restorePlain() (partial bool) {
	s := fs.s
	s.cr.bytes += fs.up.bytes
	s.sr.bytes += fs.down.bytes
	s.fastPending = fs.counts.pending
	return !fs.down.boundary() || len(fs.toClient) > 0
}

// finish ends a session the loop let go: its conns back, then the session's own end
// (session.end), on the calling goroutine.
func (fs *fastSession) finish(err error) {
	fs.unwatch()
	fs.waitParked()
	fs.giveBack()
	fs.s.end(err)
}

// giveBack returns the session's conns (and the loop's place) once the loop no longer has it:
// fresh conns for finish's FATAL and close, the FATAL only where the client stream is at a
// message boundary (restore reports whether it is not).
func (fs *fastSession) giveBack() {
	s := fs.s
	partial := fs.restore()
	s.client = giveFD(fs.cfd, s.client)
	s.clientRaw = s.client
	s.server = giveFD(fs.sfd, s.server)
	s.cw = newEndWriter(s.client)
	s.cw.partial = partial
	_ = s.track(s.client)
	_ = s.track(s.server)
	s.srv.loops.release(fs.l)
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
	l := &relayLoop{epfd: epfd, evfd: int(evfd), buf: make([]byte, fastBufSize),
		done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(evfd), &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(int(evfd))
		return nil, err
	}
	return l, nil
}

// session returns the session that fd belongs to, nil for none.
func (l *relayLoop) session(fd int32) *fastSession {
	if fd < 0 || int(fd) >= len(l.fds) {
		return nil
	}
	return l.fds[fd]
}

// setSession records fd as fs's (nil: as no session's).
func (l *relayLoop) setSession(fd int32, fs *fastSession) {
	if fd < 0 {
		return
	}
	if int(fd) >= len(l.fds) {
		if fs == nil {
			return
		}
		l.fds = slices.Grow(l.fds, int(fd)+1-len(l.fds))[:int(fd)+1]
	}
	switch {
	case l.fds[fd] == nil && fs != nil:
		l.nfds++
	case l.fds[fd] != nil && fs == nil:
		l.nfds--
	}
	l.fds[fd] = fs
}
