package wire

// The epoll loop itself: commands, readiness events, reads and writes of the sessions it holds
// (fastrelay_linux.go hands sessions to it).

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

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
				if fs != nil {
					l.end(fs, &serverError{err})
				}
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
			if fs := l.session(ev.Fd); fs != nil {
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
		case c.fs.ended:
		case c.out:
			l.parkedOut(c.fs)
		case c.resume:
			l.resume(c.fs, c.cause)
		case !c.fs.added:
			c.fs.killed = c.cause // add ends it
		default:
			l.end(c.fs, c.cause)
		}
	}
	return stop && l.nfds == 0
}

func (l *relayLoop) add(fs *fastSession) {
	fs.added = true
	if fs.killed != nil {
		fs.ended, fs.err = true, fs.killed
		go fs.finish(fs.err)
		return
	}
	fs.interest = [2]uint32{syscall.EPOLLIN, syscall.EPOLLIN}
	for _, fd := range []int32{fs.cfd, fs.sfd} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: fd}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
			if fd == fs.sfd {
				_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, int(fs.cfd), nil)
			}
			fs.ended, fs.err = true, &serverError{err}
			go fs.finish(fs.err)
			return
		}
	}
	l.setSession(fs.cfd, fs)
	l.setSession(fs.sfd, fs)
	if fs.full {
		// Whole messages may already be buffered: handle them now, no event would announce them.
		l.resumeBoth(fs)
		return
	}
	// Bytes carried over from the handoff may already hold whole messages once more arrive;
	// nothing to do until then.
}

// end removes fs from the loop and ends the session on a goroutine of its own.
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
	l.setSession(fs.cfd, nil)
	l.setSession(fs.sfd, nil)
	go fs.finish(fs.err)
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
	if fs.full && client && fs.parked {
		// The client side is busy on a goroutine (looppark_linux.go). A hung-up client would
		// otherwise be reported again at every wait until it is done: end the session now.
		if hup {
			l.stopFull(fs, fs.readErr(true, io.ErrUnexpectedEOF))
		}
		return
	}
	if hup || (events&syscall.EPOLLIN != 0 && !fs.pendingTo(!client)) {
		if fs.full {
			l.readFull(fs, client)
			return
		}
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
	if !fs.draining && len(fs.toServer) == 0 && !fs.parked {
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
