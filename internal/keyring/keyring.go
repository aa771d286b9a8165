package keyring

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// Keyring is what a running proxy holds: the current Snapshot behind an atomic pointer, replaced
// whenever the store reports a change. Snapshot() takes no lock.
type Keyring struct {
	store  Store
	sealer *sealer
	log    *zap.Logger
	hook   func(epoch uint64, err error)
	suite  byte  // the envelope suite new values are sealed with
	optErr error // a bad option, returned by New
	snap   atomic.Pointer[Snapshot]

	// master is set when the master key came from a key management service (kmsMaster).
	master *kmsMaster

	// install serialises snapshot swaps (watch goroutine and this process's own writes).
	install sync.Mutex
	subsMu  sync.Mutex
	subs    []chan struct{}
	closed  bool

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*Keyring)

// WithReloadHook calls fn after every reload attempt: the epoch in force and the error, if any
// (for the pgseal_keyring_epoch and pgseal_keyring_reloads_total metrics).
func WithReloadHook(fn func(epoch uint64, err error)) Option {
	return func(k *Keyring) { k.hook = fn }
}

// WithSuite makes new values use suite (crypto.Suite1 or crypto.Suite2; see crypto.SuiteByName
// for the configured name). Without it, new values use crypto.DefaultSuite(). Values of every
// suite stay readable either way.
func WithSuite(suite byte) Option {
	return func(k *Keyring) { k.suite = suite }
}

// WithSuiteName is WithSuite for a configured name ([crypto] suite: "aes-256-gcm",
// "chacha20-poly1305", or "" for crypto.DefaultSuite). A bad name (or chacha20-poly1305 in FIPS
// mode) makes Open and New fail.
func WithSuiteName(name string) Option {
	return func(k *Keyring) {
		suite, err := crypto.SuiteByName(name)
		if err != nil {
			k.optErr = fmt.Errorf("crypto.suite: %w", err)
			return
		}
		k.suite = suite
	}
}

// Open loads the master key and the keyring cfg names, unwraps its roots and starts watching the
// store. It fails when the keyring does not exist, does not verify or does not unwrap.
func Open(ctx context.Context, cfg config.Keyring, getenv func(string) string, log *zap.Logger, opts ...Option) (*Keyring, error) {
	master, err := LoadMasterKey(cfg, getenv)
	if err != nil {
		return nil, err
	}
	if cfg.MasterKey != "" {
		opts = append([]Option{withKMSMaster(func(ctx context.Context) ([]byte, error) {
			return unwrapKMSMasterKey(ctx, cfg)
		})}, opts...)
	}
	store, err := OpenStore(ctx, cfg, master)
	if err != nil {
		return nil, err
	}
	k, err := New(ctx, store, master, log, opts...)
	if err != nil {
		store.Close()
		return nil, err
	}
	return k, nil
}

// New is Open with an already opened store, which the Keyring then owns (Close closes it).
func New(ctx context.Context, store Store, master crypto.Secret, log *zap.Logger, opts ...Option) (*Keyring, error) {
	if log == nil {
		log = zap.NewNop()
	}
	k := &Keyring{store: store, sealer: newSealer(master), log: log, suite: crypto.DefaultSuite(), done: make(chan struct{})}
	for _, o := range opts {
		o(k)
	}
	if k.optErr != nil {
		return nil, fmt.Errorf("keyring: %w", k.optErr)
	}
	if ss, ok := store.(*sealedStore); ok && ss.state != nil {
		ss.onStateWriteError = func(err error) {
			k.log.Error("keyring state file not updated; newer keyring accepted, but the rollback guard across restarts lags behind", zap.Error(err))
		}
	}
	doc, err := store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	snap, err := buildSnapshot(k.sealer, doc, k.suite, nil)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k.snap.Store(snap)
	wctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = store.Watch(wctx, func() { k.reload(wctx) })
	}()
	if k.master != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.recheckWhileSealed(wctx)
		}()
	}
	go func() {
		wg.Wait()
		close(k.done)
	}()
	return k, nil
}

// Snapshot returns the snapshot in force. It never returns nil on an open Keyring.
func (k *Keyring) Snapshot() *Snapshot { return k.snap.Load() }

// Subscribe returns a channel that receives a value after each new snapshot (coalesced: a slow
// reader sees one value for several swaps). It is closed by Close.
func (k *Keyring) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	k.subsMu.Lock()
	defer k.subsMu.Unlock()
	if k.closed {
		close(ch)
		return ch
	}
	k.subs = append(k.subs, ch)
	return ch
}

// Manager returns a Manager writing through this Keyring's store; its changes are in force in
// this Keyring as soon as the call returns.
func (k *Keyring) Manager() *Manager {
	m := NewManager(k.store, k.sealer.master)
	m.kr = k
	return m
}

// Close stops watching and closes the store. It is idempotent.
func (k *Keyring) Close() error {
	k.closeOnce.Do(func() {
		k.cancel()
		<-k.done
		k.subsMu.Lock()
		k.closed = true
		for _, ch := range k.subs {
			close(ch)
		}
		k.subs = nil
		k.subsMu.Unlock()
		k.closeErr = k.store.Close()
	})
	return k.closeErr
}

// reload loads the store and installs a newer snapshot. On failure the snapshot in force stays
// (a tampered or rolled-back store never replaces a good keyring) and the error is logged. The
// hook is told the error, or else the seal (ErrSealed) of the snapshot in force.
func (k *Keyring) reload(ctx context.Context) {
	doc, err := k.store.Load(ctx)
	if err == nil {
		err = k.installDocument(doc)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		k.log.Error("keyring reload failed; keeping the keyring in force",
			zap.Uint64("epoch", k.Snapshot().Epoch()), zap.Error(err))
	}
	if err == nil {
		err = k.Snapshot().Sealed()
	}
	if k.hook != nil {
		k.hook(k.Snapshot().Epoch(), err)
	}
}

// installDocument swaps in doc if it is newer than the snapshot in force, or if it is the same
// epoch and the snapshot in force is sealed (a recheck). When the master key came from a key
// management service, the service is asked first (checkMaster): a refusal installs doc sealed.
func (k *Keyring) installDocument(doc *Document) error {
	if cur := k.Snapshot(); doc.Epoch < cur.epoch || doc.Epoch == cur.epoch && cur.sealed == nil {
		return nil
	}
	sealed := k.checkMaster(k.Snapshot())
	snap, err := buildSnapshot(k.sealer, doc, k.suite, sealed)
	if err != nil {
		return err
	}
	k.install.Lock()
	cur := k.Snapshot()
	if snap.keyringID != cur.keyringID {
		k.install.Unlock()
		return fmt.Errorf("%w: store now holds another keyring (%s)", ErrTampered, snap.keyringID)
	}
	// A newer epoch always replaces; at the same epoch only an unsealed snapshot replaces a
	// sealed one (recovery).
	swapped := snap.epoch > cur.epoch || snap.epoch == cur.epoch && cur.sealed != nil && snap.sealed == nil
	if swapped {
		k.snap.Store(snap)
	}
	k.install.Unlock()
	if !swapped {
		return nil
	}
	switch {
	case snap.sealed != nil && cur.sealed == nil:
		k.log.Error("keyring sealed: every keyset refuses to encrypt or decrypt until the key management service unwraps the master key again",
			zap.Uint64("epoch", snap.epoch), zap.Error(snap.sealed))
	case snap.sealed == nil && cur.sealed != nil:
		k.log.Info("keyring unsealed: the key management service unwraps the master key again", zap.Uint64("epoch", snap.epoch))
	}
	k.log.Info("keyring loaded", zap.Uint64("epoch", snap.epoch), zap.Bool("sealed", snap.sealed != nil))
	k.notify()
	return nil
}

func (k *Keyring) notify() {
	k.subsMu.Lock()
	defer k.subsMu.Unlock()
	for _, ch := range k.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
