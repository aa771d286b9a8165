package wire

import "sync"

// Parking (loopseal_linux.go): a client message whose Request may wait for Exec runs on a
// goroutine of its own while the loop goes on serving the server side and its other sessions.

// mayExec reports whether the client message of type typ may wait for Exec in Request.
func (s *session) mayExec(typ byte) bool {
	return s.execCaller != nil && s.ctypes.Has(typ) && s.execCaller.MayExec(typ)
}

// park runs the client message whose header was just read on a goroutine: the loop stops reading
// the client until it is done (loopCmd.resume).
func (l *relayLoop) park(fs *fastSession, typ byte) {
	fs.parked = true
	l.update(fs)
	fs.parkWG.Add(1)
	s := fs.s
	go func() {
		defer fs.parkWG.Done()
		err := s.clientMessage(typ)
		if err == nil {
			err = s.toServerErr(s.sw.flush())
		}
		l.submit(loopCmd{fs: fs, resume: true, cause: err})
	}()
}

// parkedOut sends what the parked client side wrote for the server.
func (l *relayLoop) parkedOut(fs *fastSession) bool {
	fs.parkMu.Lock()
	p := fs.parkOut
	fs.parkOut = nil
	fs.parkMu.Unlock()
	if len(p) == 0 || fs.ended {
		return !fs.ended
	}
	if !l.send(fs, false, p) {
		return false
	}
	l.update(fs)
	return true
}

// resume continues the client side after a parked message (err is its outcome).
func (l *relayLoop) resume(fs *fastSession, err error) {
	if !l.parkedOut(fs) {
		return
	}
	fs.parked = false
	if err == nil && !fs.draining {
		err = l.handle(fs, true)
	}
	if err != nil {
		l.stopFull(fs, err)
		return
	}
	fs.rest(0)
	l.update(fs)
}

// stopFull ends an intercepted session: what the writers hold goes to the pending buffers first.
func (l *relayLoop) stopFull(fs *fastSession, err error) {
	if !fs.parked {
		_ = fs.s.sw.flush()
	}
	_ = fs.s.cw.flush()
	l.stop(fs, err)
}

// waitParked makes sure no parked goroutine still uses the session once the loop let it go.
func (fs *fastSession) waitParked() {
	if fs.parked {
		fs.s.stopOnce.Do(fs.s.interrupt)
	}
	fs.parkWG.Wait()
}

// parkState is the part of a fastSession used by parking.
type parkState struct {
	parked  bool // loop thread (and the parked goroutine, which sees it set)
	parkWG  sync.WaitGroup
	parkMu  sync.Mutex
	parkOut []byte
	io      [2]loopIO // client side, server side
}
