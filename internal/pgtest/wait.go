package pgtest

import (
	"runtime"
	"testing"
	"time"
)

// CheckGoroutines fails t if the goroutine count does not come back to its value at the call
// within a deadline after t's cleanups ran (sessions, watchers). Call it before starting what
// the test runs, so its cleanup runs last.
func CheckGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		n := 0
		if !Eventually(5*time.Second, func() bool { n = runtime.NumGoroutine(); return n <= base }) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("runtime.NumGoroutine() = %d, want <= %d\n%s", n, base, buf)
		}
	})
}

// Eventually polls cond every 10 ms until it holds or d passes, and reports whether it held.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
