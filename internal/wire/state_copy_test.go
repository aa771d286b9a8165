package wire

import "testing"

// TestStateCopySyncs drives the FIFO through COPY IN in the extended protocol (state_copy.go):
// Syncs sent in the data window are dropped when the server starts the COPY, answered when it
// does not, and not pushed once it is known to be in COPY IN.
func TestStateCopySyncs(t *testing.T) {
	// steps: client P B D send requests, e an Execute carrying a CopyIn (opens the window), S a
	// Sync, x the end of the window (CopyDone); server 1 2 n C G answers, E an error, Z ready.
	tests := []struct {
		name, steps string
		ignored     int // Syncs reported ignored
	}{
		{"the COPY starts: the Sync pipelined behind its Execute gets no ReadyForQuery", "PBDeS12nGxSCZ", 1},
		{"the COPY never starts: the Sync is answered", "PBDeS1EZx", 0},
		{"a Sync sent during COPY IN is not pushed", "PBDe12nGSSxSCZ", 2},
		{"a simple-query COPY and a stray Sync", "qSGxCZ", 1},
		{"two pipelined Syncs before the COPY starts", "PBDeSS12nGxSCZ", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState()
			s := &session{st: st}
			ignored := 0
			for _, c := range []byte(tt.steps) {
				switch c {
				case 'P', 'B', 'D':
					s.trackRequest(c, [2]string{}, nil, nil)
				case 'e', 'q':
					kind := reqExecute
					if c == 'q' {
						kind = reqQuery
					}
					if st.copyRequest(kind, nil) == 0 {
						t.Fatal("copyRequest() = 0")
					}
					st.copyWindow(true)
				case 'S':
					if !st.sync(nil) {
						ignored++
					}
				case 'x':
					st.copyWindow(false)
				case 'G':
					ignored += st.copyInStarted()
				case 'E':
					st.failed()
				case 'Z':
					st.ready('I')
				default:
					st.answer(c)
				}
			}
			st.mu.Lock()
			desync := st.mu.desync
			st.mu.Unlock()
			if desync != 0 || st.pendingCount() != 0 || ignored != tt.ignored {
				t.Errorf("desync %d, pending %d, ignored %d; want 0, 0, %d", desync, st.pendingCount(), ignored, tt.ignored)
			}
		})
	}
}
