package wire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
)

// backendKey is the (process id, secret) pair of BackendKeyData and CancelRequest.
type backendKey struct {
	pid    uint32
	secret []byte
}

// cancelMap maps the keys pgseal gave clients to the upstream's real keys. A client gets the
// upstream's real process id (so pg_backend_pid(), pg_terminate_backend and pg_stat_activity agree
// with what the client holds) but a secret of pgseal's: it never sees a real secret, so it can
// cancel only its own session, and only through pgseal.
//
// NOTE: two live sessions can share an upstream pid when they reach different server lifetimes
// (a session lingering across a server restart), when the OS reuses the pid of a backend that
// ended before pgseal's session for it has (a short window, wider with a small pid_max), or, in
// future, when they reach different upstreams.
// The newcomer then gets a synthetic pid (see syntheticPIDBase) rather than replacing the older
// entry: replacing would silently make a possibly live session uncancellable, while the synthetic
// pid only costs the newcomer pg_backend_pid() agreement, as before issue 11.
type cancelMap struct {
	mu struct {
		sync.Mutex
		m map[uint32]cancelEntry // by the pid given to the client
	}
}

// syntheticPIDBase is where pids pgseal makes up start: above Linux's PID_MAX_LIMIT (2^22) and the
// BSDs' and macOS's 99999, so a made-up pid never takes the place of a real one.
const syntheticPIDBase = 1 << 30

type cancelEntry struct {
	secret   []byte     // proxy secret given to the client
	upstream backendKey // real key data of the upstream session
}

func newCancelMap() *cancelMap {
	c := &cancelMap{}
	c.mu.m = map[uint32]cancelEntry{}
	return c
}

// add registers upstream and returns the key to give the client: the upstream's pid when no live
// entry holds it, else a synthetic one, and a fresh secret of the upstream secret's length (4
// bytes in protocol 3.0; up to 256 in 3.2), at least 4, so the client's protocol expectations hold.
func (c *cancelMap) add(upstream backendKey) (backendKey, error) {
	secret := make([]byte, max(len(upstream.secret), 4))
	if _, err := rand.Read(secret); err != nil {
		return backendKey{}, fmt.Errorf("cancel key: %w", err)
	}
	e := cancelEntry{secret: secret, upstream: backendKey{pid: upstream.pid, secret: append([]byte(nil), upstream.secret...)}}
	c.mu.Lock()
	defer c.mu.Unlock()
	pid := upstream.pid
	if _, taken := c.mu.m[pid]; taken || pid == 0 {
		var err error
		if pid, err = c.syntheticPIDLocked(); err != nil {
			return backendKey{}, err
		}
	}
	c.mu.m[pid] = e
	return backendKey{pid: pid, secret: secret}, nil
}

// syntheticPIDLocked draws a free pid in [syntheticPIDBase, 2^31): positive, like a real one.
func (c *cancelMap) syntheticPIDLocked() (uint32, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("cancel key: %w", err)
		}
		pid := syntheticPIDBase | binary.BigEndian.Uint32(b[:])&(syntheticPIDBase-1)
		if _, taken := c.mu.m[pid]; !taken {
			return pid, nil
		}
	}
}

// lookup returns the upstream key for a client's cancel key; the secret is compared in constant
// time (a length mismatch fails at once, which tells nothing about the secret's bytes).
func (c *cancelMap) lookup(k backendKey) (backendKey, bool) {
	c.mu.Lock()
	e, ok := c.mu.m[k.pid]
	c.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare(e.secret, k.secret) != 1 {
		return backendKey{}, false
	}
	return e.upstream, true
}

// remove drops the entry of key k, the key a session gave its client. add never hands out a pid
// that is in use, so the entry is k's own; the secret check keeps it that way should add ever
// change to replace entries.
func (c *cancelMap) remove(k backendKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.mu.m[k.pid]; ok && subtle.ConstantTimeCompare(e.secret, k.secret) == 1 {
		delete(c.mu.m, k.pid)
	}
}

func (c *cancelMap) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.m)
}

// cancelUpstream opens a new upstream connection and sends the real CancelRequest (protocol docs,
// "Canceling Requests in Progress"); the server closes it without a reply.
func (srv *Server) cancelUpstream(ctx context.Context, k backendKey) error {
	ctx, cancel := context.WithTimeout(ctx, srv.cfg.Upstream.ConnectTimeout.D())
	defer cancel()
	conn, err := srv.connectUpstream(ctx, srv.upTLS)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	msg, err := (&pgproto3.CancelRequest{ProcessID: k.pid, SecretKey: k.secret}).Encode(nil)
	if err != nil {
		return fmt.Errorf("cancel request: %w", err)
	}
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("send cancel request: %w", err)
	}
	// Wait for the server to close, so the cancel has been processed when we return.
	var b [1]byte
	_, _ = conn.Read(b[:])
	return nil
}
