package wire

import (
	"strings"
	"testing"
)

// TestStateFollowsResponses drives the FIFO with request/response sequences as PostgreSQL sends
// them and checks that every response finds its request.
func TestStateFollowsResponses(t *testing.T) {
	tests := []struct {
		name      string
		requests  string // client message types, in send order
		responses string // server message types, in arrival order
		wantTx    byte
		wantStmts int
	}{
		{"a simple query ends at ReadyForQuery", "Q", "TDDCZ", 'I', 0},
		{"an extended query pops each step", "PBDES", "12TDCZ", 'I', 1},
		{"a statement describe pops at RowDescription", "PDS", "1tTZ", 'I', 1},
		{"an error in a batch skips to Sync", "PBDES", "1EZ", 'I', 1},
		{"an error before Sync drops later requests too", "PBE", "1E", 'I', 1},
		{"a failed Parse leaves no statement", "PBES", "EZ", 'I', 0},
		{"a row limit suspends the portal", "PBEES", "12DsDCZ", 'T', 1},
		{"a copy in a simple query ends at ReadyForQuery", "Q", "GCZ", 'I', 0},
		{"notifications and notices match no request", "Q", "ANSCZ", 'I', 0},
		{"a pipeline of two syncs", "PBESBES", "12DCZ2CZ", 'I', 1},
		{"a function call ends at ReadyForQuery", "F", "VZ", 'E', 0},
		// q: a Query sent as an extended sequence (Verdict.ResultFormats).
		{"a query sent as extended ends at ReadyForQuery", "q", "12TDDC3Z", 'I', 0},
		{"a query sent as extended without rows", "q", "12nC3Z", 'I', 0},
		{"a query sent as extended that fails", "q", "12TEZ", 'E', 0},
		{"extended queries pipelined with a prepared statement", "qPBESq", "12TDC3Z12TDCZ12TC3Z", 'I', 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState()
			n := 0
			for _, r := range []byte(tt.requests) {
				n++
				names := [2]string{"", ""}
				if r == 'P' {
					names[0] = "s"
				}
				if r == 'B' {
					names[1] = "s"
				}
				if r == 'q' {
					if !st.queryExtended(nil) {
						t.Fatal("queryExtended() = false on a session that is not skipping")
					}
					continue
				}
				s := &session{st: st}
				s.trackRequest(r, names, nil, nil)
			}
			hidden := 0
			for i, r := range []byte(tt.responses) {
				switch r {
				case 'E':
					st.failed()
				case 'Z':
					tx := byte('I')
					if i == len(tt.responses)-1 {
						tx = tt.wantTx
					}
					st.ready(tx)
				default:
					if !isAsync(r) {
						if _, hide := st.answer(r); hide {
							hidden++
						}
					}
				}
			}
			// Every ParseComplete, BindComplete, CloseComplete and NoData but those of P and B.
			want := -strings.Count(tt.requests, "P") - strings.Count(tt.requests, "B")
			for _, c := range "123n" {
				want += strings.Count(tt.responses, string(c))
			}
			if !strings.Contains(tt.requests, "q") {
				want = 0
			}
			if hidden != want {
				t.Errorf("hidden answers = %d, want %d", hidden, want)
			}
			st.mu.Lock()
			desync, stmts, discarding := st.mu.desync, len(st.mu.statements), st.mu.discardUntilSync
			st.mu.Unlock()
			wantPending := 0
			if tt.responses[len(tt.responses)-1] != 'Z' {
				wantPending = 0 // an error without Sync leaves nothing pending but a discard
				if !discarding {
					t.Errorf("discardUntilSync = false, want true")
				}
			}
			if got := st.pendingCount(); got != wantPending {
				t.Errorf("pendingCount() = %d, want %d", got, wantPending)
			}
			if desync != 0 {
				t.Errorf("desync = %d, want 0", desync)
			}
			if stmts != tt.wantStmts {
				t.Errorf("statements = %d, want %d", stmts, tt.wantStmts)
			}
			if got := st.TxStatus(); got != tt.wantTx {
				t.Errorf("TxStatus() = %q, want %q", got, tt.wantTx)
			}
		})
	}
}

func TestTypeSetHasExactlyItsMembers(t *testing.T) {
	s := Types('Q', 'P', 0, 255)
	for b := 0; b < 256; b++ {
		want := b == 'Q' || b == 'P' || b == 0 || b == 255
		if got := s.Has(byte(b)); got != want {
			t.Fatalf("Types(Q,P,0,255).Has(%d) = %v, want %v", b, got, want)
		}
	}
}

// TestQueryExtendedWhileSkipping: while the server skips messages up to a Sync it would ignore a
// Query but answer the Sync of an extended sequence, so the Query is not sent as one; nor in a
// COPY's data window.
func TestQueryExtendedWhileSkipping(t *testing.T) {
	st := newState()
	s := &session{st: st}
	for _, r := range []byte("PBE") {
		s.trackRequest(r, [2]string{}, nil, nil)
	}
	st.answer('1')
	st.failed()
	if st.queryExtended(nil) {
		t.Fatal("queryExtended() = true while the server skips to Sync")
	}
	s.trackRequest('S', [2]string{}, nil, nil)
	st.ready('I')
	st.copyWindow(true)
	if st.queryExtended(nil) {
		t.Fatal("queryExtended() = true in a COPY's data window")
	}
	st.copyWindow(false)
	if !st.queryExtended(nil) {
		t.Fatal("queryExtended() = false at a safe point")
	}
}
