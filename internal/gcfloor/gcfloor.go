// Package gcfloor keeps the garbage collector's heap goal from falling below a floor.
//
// pgseal's live heap is small (a few MiB plus per-connection buffers), while encrypting and
// decrypting AES-256-GCM values (envelope suite 1) allocate about 1.3 KB per value inside the
// standard library's AES and GCM constructors (a fresh key per value cannot reuse them).
// ChaCha20-Poly1305 values (suite 2, the default) allocate nothing, and the floor then changes
// nothing measurable; it stays for proxies that write or still read suite 1 (bench/README.md,
// "Cipher suites"). With the default GOGC=100 the heap goal
// stays near 8 MiB and the collector runs every few thousand values: about a third of the CPU
// of a large decrypted result went to it. A goal of at least Floor bytes makes a cycle per tens of
// thousands of values instead, and costs at most Floor bytes of heap that a busy proxy would reuse
// anyway. Once the live heap itself is large (many connections), GOGC is back at 100 and memory
// grows exactly as it would without this package.
//
// The operator keeps the last word: with GOGC set in the environment, Keep does nothing.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Floor is the heap goal pgseal keeps by default.
const Floor = 32 << 20

const (
	basePercent = 100    // GOGC once the live heap alone reaches the floor: Go's default
	maxPercent  = 10_000 // bounds GOGC when the live heap is tiny
)

var active atomic.Bool // one tuner at a time

// Keep adjusts GOGC after every garbage collection so that the next heap goal is at least floor
// bytes, until stop is called, which restores the previous setting. It does nothing (and stop
// does nothing) when GOGC is set in the environment or another Keep is in force.
func Keep(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || floor == 0 || !active.CompareAndSwap(false, true) {
		return func() {}
	}
	t := &tuner{floor: floor, samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.prev = debug.SetGCPercent(basePercent)
	t.percent = basePercent
	t.adjust()
	t.arm()
	return func() {
		if t.stopped.Swap(true) {
			return
		}
		t.mu.Lock()
		debug.SetGCPercent(t.prev)
		t.mu.Unlock()
		active.Store(false)
	}
}

type tuner struct {
	floor   uint64
	prev    int
	stopped atomic.Bool

	mu      sync.Mutex // adjust runs on the runtime's cleanup goroutine and in Keep
	percent int
	samples []metrics.Sample
}

// sentinel is garbage from birth; its cleanup runs after the collection that finds it, which is
// how the tuner learns that a cycle ended. (It holds a pointer so the tiny allocator, whose
// blocks can outlive their objects, never takes it.)
type sentinel struct{ _ *byte }

func (t *tuner) arm() {
	runtime.AddCleanup(&sentinel{}, func(t *tuner) {
		if !t.stopped.Load() {
			t.adjust()
			t.arm()
		}
	}, t)
}

// adjust sets GOGC so that live*(1+GOGC/100) >= floor, never below basePercent.
func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.samples)
	if t.samples[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	p := Percent(t.samples[0].Value.Uint64(), t.floor)
	// Small changes are not worth telling the runtime about.
	if p != t.percent && (p == basePercent || p*10 < t.percent*9 || p*10 > t.percent*11) {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

// Percent is the GOGC that makes the heap goal of a live heap at least floor bytes.
func Percent(live, floor uint64) int {
	if live == 0 {
		return maxPercent
	}
	if live >= floor/2 {
		return basePercent
	}
	p := (floor*100 + live - 1) / live // ceil(100 * floor / live)
	return int(min(max(p-100, basePercent), maxPercent))
}
