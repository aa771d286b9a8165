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

// cancelMap maps the keys pgseal gave clients to the upstream's real keys. A client never sees a
// real key, so it can cancel only its own session, and only through pgseal.
type cancelMap struct {
	mu struct {
		sync.Mutex
		m map[uint32]cancelEntry // by proxy pid
	}
}

type cancelEntry struct {
	secret   []byte     // proxy secret given to the client
	upstream backendKey // real key data of the upstream session
}

func newCancelMap() *cancelMap {
	c := &cancelMap{}
	c.mu.m = map[uint32]cancelEntry{}
	return c
}

// add registers upstream and returns the key to give the client. The secret has the upstream's
// length (4 bytes in protocol 3.0; longer in 3.2), so the client's protocol expectations hold.
func (c *cancelMap) add(upstream backendKey) (backendKey, error) {
	n := max(len(upstream.secret), 4)
	secret := make([]byte, n)
	if _, err := rand.Read(secret); err != nil {
		return backendKey{}, fmt.Errorf("cancel key: %w", err)
	}
	var pidb [4]byte
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if _, err := rand.Read(pidb[:]); err != nil {
			return backendKey{}, fmt.Errorf("cancel key: %w", err)
		}
		pid := binary.BigEndian.Uint32(pidb[:]) &^ (1 << 31) // positive, like a real pid
		if _, taken := c.mu.m[pid]; !taken && pid != 0 {
			up := backendKey{pid: upstream.pid, secret: append([]byte(nil), upstream.secret...)}
			c.mu.m[pid] = cancelEntry{secret: secret, upstream: up}
			return backendKey{pid: pid, secret: secret}, nil
		}
	}
}

// lookup returns the upstream key for a client's cancel key; the secret is compared in constant time.
func (c *cancelMap) lookup(k backendKey) (backendKey, bool) {
	c.mu.Lock()
	e, ok := c.mu.m[k.pid]
	c.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare(e.secret, k.secret) != 1 {
		return backendKey{}, false
	}
	return e.upstream, true
}

func (c *cancelMap) remove(pid uint32) {
	c.mu.Lock()
	delete(c.mu.m, pid)
	c.mu.Unlock()
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
	conn, err := srv.connectUpstream(ctx)
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
