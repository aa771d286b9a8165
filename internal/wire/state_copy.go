package wire

// COPY IN and Sync. The server ignores Sync while it is in COPY IN mode (protocol docs, "COPY
// Operations"), yet a client of the extended protocol sends Sync right after the Execute of a
// COPY … FROM STDIN, before its copy data, and another one after CopyDone. Whether that first Sync
// is answered depends on the server: it is ignored if the COPY started (CopyInResponse), answered
// with ReadyForQuery if the request failed first. So the client loop marks the COPY's data window
// (from the request carrying a CopyIn to the client's CopyDone or CopyFail, or pgseal's CopyFail)
// and pushes a Sync sent in it as a copy Sync; CopyInResponse drops the copy Syncs waiting behind
// the request it answers, and a Sync sent while the server is known to be in COPY IN is not pushed
// at all. Either way the interceptor, which counted the Sync, is told (SyncIgnorer).

// SyncIgnorer is implemented by a SessionInterceptor that counts the Syncs it sees: n of them
// (already passed to Request) will get no ReadyForQuery because the server was in COPY IN mode.
type SyncIgnorer interface {
	SyncsIgnored(n int)
}

// copyWindow opens (the request with a CopyIn was sent) or closes (CopyDone or CopyFail sent, or
// any other message) the data window of a COPY FROM STDIN. Client loop.
func (s *state) copyWindow(open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.copyWindow = open
	if !open {
		s.mu.copyIn = false
	}
}

// sync records a Sync; in the data window it is a copy Sync. It reports false when the Sync was
// not pushed because the server, in COPY IN, will ignore it.
func (s *state) sync(plan Plan) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.copyWindow && s.mu.copyIn {
		return false
	}
	s.pushLocked(pending{kind: reqSync, plan: plan, copySync: s.mu.copyWindow})
	return true
}

// copyInStarted accounts for CopyInResponse (server loop): the copy Syncs behind the request it
// answers will be ignored by the server, and so will any sent later in the window. It returns how
// many it dropped.
func (s *state) copyInStarted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.copyIn = s.mu.copyWindow
	live := s.mu.fifo[s.mu.head:]
	kept := live[:0]
	for _, p := range live {
		if !p.copySync {
			kept = append(kept, p)
		}
	}
	dropped := len(live) - len(kept)
	clear(live[len(kept):])
	s.mu.fifo = s.mu.fifo[:s.mu.head+len(kept)]
	return dropped
}

// copyRequest records a Query or Execute whose COPY FROM STDIN has a CopyIn and returns its
// sequence number (0 when the server will skip it).
func (s *state) copyRequest(kind reqKind, plan Plan) uint64 {
	if kind == reqQuery {
		return s.query(plan, nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(pending{kind: kind, plan: plan})
}
