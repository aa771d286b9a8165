package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live, floor uint64
		want        int
	}{
		{0, 32 * mib, maxPercent},
		{1, 32 * mib, maxPercent},
		{4 * mib, 32 * mib, 700},  // 4 MiB * 8 = 32 MiB
		{5 * mib, 32 * mib, 540},  // ceil(640) - 100
		{8 * mib, 32 * mib, 300},  // 8 * 4 = 32
		{15 * mib, 32 * mib, 114}, // ceil(213.3) - 100
		{16 * mib, 32 * mib, basePercent},
		{100 * mib, 32 * mib, basePercent},
	}
	for _, c := range cases {
		if got := Percent(c.live, c.floor); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.live, c.floor, got, c.want)
		}
		if p := Percent(c.live, c.floor); c.live > 0 && p < maxPercent && c.live*uint64(100+p)/100 < c.floor {
			t.Errorf("Percent(%d, %d) = %d: heap goal %d is below the floor", c.live, c.floor, p, c.live*uint64(100+p)/100)
		}
	}
}

// TestKeepRaisesAndRestores runs the tuner for real: after a collection GOGC is above the default
// (this test binary's live heap is far below 1 GiB), and stop puts back what was there.
func TestKeepRaisesAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(123)
	defer debug.SetGCPercent(before)
	stop := Keep(1 << 30)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if p := gogc(); p > basePercent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after collections, want above %d", gogc(), basePercent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	stop() // idempotent
	if p := gogc(); p != 123 {
		t.Errorf("GOGC after stop = %d, want the previous 123", p)
	}
}

func TestKeepLeavesAnOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	stop := Keep(1 << 30)
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	stop()
	if p := gogc(); p != 150 {
		t.Errorf("GOGC = %d with GOGC in the environment, want 150 untouched", p)
	}
}

// gogc reads the current GOGC without changing it.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func TestKeepTwiceKeepsOne(t *testing.T) {
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	stop1 := Keep(1 << 30)
	stop2 := Keep(1 << 30) // a no-op, and must not block
	stop2()
	runtime.GC()
	stop1()
	if p := gogc(); p != 100 {
		t.Errorf("GOGC after both stops = %d, want 100", p)
	}
}
