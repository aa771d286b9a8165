// Command memory measures pgseal's memory targets (issue 2): the resident set of the proxy process
// with N idle client connections, and its growth while one client streams a large result.
//
//	go run ./bench/memory -pid $(pgrep -f 'proxy serve') -addr 127.0.0.1:27432 -user bench -conns 1000
//
// It reads VmRSS from /proc/<pid>/status, so it runs on Linux next to the proxy.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	pid := flag.Int("pid", 0, "process id of the proxy")
	addr := flag.String("addr", "127.0.0.1:6432", "proxy address")
	user := flag.String("user", "postgres", "user")
	db := flag.String("db", "postgres", "database")
	conns := flag.Int("conns", 1000, "idle connections to open")
	rows := flag.Int("rows", 1_000_000, "rows to stream")
	flag.Parse()
	if err := run(*pid, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", *user, *addr, *db), *conns, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

func run(pid int, url string, n, rows int) error {
	if pid <= 0 {
		return errors.New("-pid is required")
	}
	ctx := context.Background()
	base, err := rss(pid)
	if err != nil {
		return err
	}
	idle, err := openIdle(ctx, url, n)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // let the proxy settle (buffers, GC)
	withIdle, err := rss(pid)
	if err != nil {
		return err
	}
	for _, c := range idle {
		_ = c.Close(ctx)
	}
	fmt.Printf("| idle connections | %d | proxy RSS before %.1f MiB | with them %.1f MiB | %.1f KiB per connection |\n",
		n, mib(base), mib(withIdle), float64(withIdle-base)/1024/float64(n))

	time.Sleep(500 * time.Millisecond)
	before, err := rss(pid)
	if err != nil {
		return err
	}
	peak, got, err := stream(ctx, url, pid, rows)
	if err != nil {
		return err
	}
	fmt.Printf("| streamed rows | %d | proxy RSS before %.1f MiB | peak %.1f MiB | growth %.1f MiB |\n",
		got, mib(before), mib(peak), mib(peak-before))
	return nil
}

func openIdle(ctx context.Context, url string, n int) ([]*pgx.Conn, error) {
	out := make([]*pgx.Conn, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				errc <- err
				return
			}
			out[i] = c
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		for _, c := range out {
			if c != nil {
				_ = c.Close(ctx)
			}
		}
		return nil, fmt.Errorf("open connections: %w", err)
	}
	return out, nil
}

// stream reads rows of ~120 bytes without keeping them, sampling the proxy's RSS as it goes.
func stream(ctx context.Context, url string, pid, n int) (peak int64, got int, err error) {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close(ctx)
	r, err := c.Query(ctx, "SELECT g, repeat('x', 100) FROM generate_series(1, $1) g", n)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	for r.Next() {
		got++
		if got%20000 == 0 {
			if v, err := rss(pid); err == nil && v > peak {
				peak = v
			}
		}
	}
	return peak, got, r.Err()
}

func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
