package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// Store keeps the sealed keyring document. Every Document it returns has been verified (key
// check, MAC, invariants, epoch not older than any this Store has seen).
type Store interface {
	// Load returns the current document.
	Load(ctx context.Context) (*Document, error)
	// Create stores doc as a new keyring; ErrExists when one is already there.
	Create(ctx context.Context, doc *Document) error
	// Update runs fn on the current document under an exclusive lock and stores the result with
	// the epoch incremented: concurrent writers, in this process or others, never lose an update.
	// If fn fails nothing is written and its error is returned.
	Update(ctx context.Context, fn func(*Document) error) (*Document, error)
	// Watch calls fn once when it starts watching (so that nothing between an earlier Load and the
	// watch is missed) and then after every change, until ctx ends. It returns ctx's error.
	Watch(ctx context.Context, fn func()) error
	// Close releases connections. It is idempotent.
	Close() error
}

// backend stores sealed bytes; sealedStore adds sealing, verification and the epoch guard, so
// both stores share one audited path.
type backend interface {
	read(ctx context.Context) ([]byte, error)                    // ErrNotInitialized when absent
	create(ctx context.Context, data []byte, epoch uint64) error // ErrExists when present
	// update calls fn with the current bytes under an exclusive lock; fn returns the new bytes
	// and epoch, or nil bytes for "no change".
	update(ctx context.Context, fn func(old []byte) ([]byte, uint64, error)) error
	watch(ctx context.Context, fn func()) error
	close() error
}

// OpenStore opens the store cfg names, sealing with master. It does not require a keyring to
// exist yet (Load then returns ErrNotInitialized).
func OpenStore(ctx context.Context, cfg config.Keyring, master crypto.Secret) (Store, error) {
	if master.Len() != crypto.KeySize {
		return nil, errors.New("keyring: master key must be 32 bytes")
	}
	var b backend
	switch cfg.Store {
	case "file":
		if cfg.Path == "" {
			return nil, errors.New("keyring: keyring.path is required with store = \"file\"")
		}
		b = newFileBackend(cfg.Path)
	case "postgres":
		pb, err := newPostgresBackend(ctx, cfg.DSN)
		if err != nil {
			return nil, err
		}
		b = pb
	default:
		return nil, fmt.Errorf("keyring: unknown store %q (want file or postgres)", cfg.Store)
	}
	st := &sealedStore{b: b, s: newSealer(master), now: time.Now}
	if cfg.StatePath != "" {
		st.state = newStateFile(cfg.StatePath, master)
	}
	return st, nil
}

type sealedStore struct {
	b   backend
	s   *sealer
	now func() time.Time
	// state, when set, carries the epoch guard across restarts (state.go); nil keeps it in memory.
	state *stateFile
	// onStateWriteError, when set (by a running Keyring), receives the error of a state file that
	// could not record a verified newer document, which is then accepted anyway: a newer keyring
	// (a revocation) must take effect even on a full or read-only disk. Without it (one-shot CLI
	// commands) the error is returned.
	onStateWriteError func(error)

	// op serialises this Store's operations, so that a Load that read an older document can
	// never be compared with the epoch of an Update that finished in between (which would look
	// like a rollback). Other processes are serialised by the backend's lock.
	op sync.Mutex
	mu struct {
		sync.Mutex
		epoch uint64 // highest epoch seen
		mac   []byte // MAC of the document at that epoch
	}
}

func (st *sealedStore) Load(ctx context.Context) (*Document, error) {
	st.op.Lock()
	defer st.op.Unlock()
	doc, err := st.loadLocked(ctx)
	if errors.Is(err, ErrRollback) && st.state != nil {
		// Another process on this host may have written a newer keyring and recorded it in the
		// state file between our read of the store and of the state: read the store once more.
		doc, err = st.loadLocked(ctx)
	}
	return doc, err
}

func (st *sealedStore) loadLocked(ctx context.Context) (*Document, error) {
	data, err := st.b.read(ctx)
	if err != nil {
		return nil, err
	}
	doc, mac, err := st.s.open(data)
	if err != nil {
		return nil, err
	}
	if err := st.observe(doc, mac); err != nil {
		return nil, err
	}
	return doc, nil
}

func (st *sealedStore) Create(ctx context.Context, doc *Document) error {
	st.op.Lock()
	defer st.op.Unlock()
	if err := doc.validate(); err != nil {
		return fmt.Errorf("keyring: new document: %v: %w", err, ErrInvalid)
	}
	data, mac, err := st.s.seal(doc)
	if err != nil {
		return err
	}
	if _, rerr := st.b.read(ctx); st.state != nil && errors.Is(rerr, ErrNotInitialized) {
		// A state file of another keyring: creating this one would look like a rollback to
		// every later start, so refuse before writing anything. (When a keyring exists, create
		// refuses with ErrExists, the more useful answer.)
		if err := st.state.check(doc.KeyringID, doc.Epoch, mac); err != nil {
			return err
		}
	}
	if err := st.b.create(ctx, data, doc.Epoch); err != nil {
		return err
	}
	return st.observe(doc, mac)
}

func (st *sealedStore) Update(ctx context.Context, fn func(*Document) error) (*Document, error) {
	st.op.Lock()
	defer st.op.Unlock()
	var out *Document
	var outMAC []byte
	err := st.b.update(ctx, func(old []byte) ([]byte, uint64, error) {
		doc, mac, err := st.s.open(old)
		if err != nil {
			return nil, 0, err
		}
		if err := st.check(doc.Epoch, mac); err != nil {
			return nil, 0, err
		}
		if st.state != nil {
			// Never build a new keyring on top of a rolled-back one.
			if err := st.state.check(doc.KeyringID, doc.Epoch, mac); err != nil {
				return nil, 0, err
			}
		}
		if err := fn(doc); err != nil {
			if errors.Is(err, errNoChange) {
				out, outMAC = doc, mac
				return nil, 0, nil
			}
			return nil, 0, err
		}
		doc.Epoch++
		doc.UpdatedAt = st.now().UTC()
		if err := doc.validate(); err != nil {
			return nil, 0, fmt.Errorf("keyring: refusing to store an invalid document: %v: %w", err, ErrInvalid)
		}
		data, mac, err := st.s.seal(doc)
		if err != nil {
			return nil, 0, err
		}
		out, outMAC = doc, mac
		return data, doc.Epoch, nil
	})
	if err != nil {
		return nil, err
	}
	if err := st.observe(out, outMAC); err != nil {
		if errors.Is(err, errStateWrite) {
			return nil, fmt.Errorf("keyring changed (epoch %d), but %w", out.Epoch, err)
		}
		return nil, err
	}
	return out, nil
}

func (st *sealedStore) Watch(ctx context.Context, fn func()) error { return st.b.watch(ctx, fn) }

func (st *sealedStore) Close() error { return st.b.close() }

// check refuses an epoch older than the highest seen, or a different document at that epoch
// (a fork: two writers that did not see each other, or a replayed copy).
func (st *sealedStore) check(epoch uint64, mac []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.checkLocked(epoch, mac)
}

func (st *sealedStore) checkLocked(epoch uint64, mac []byte) error {
	switch {
	case epoch < st.mu.epoch:
		return fmt.Errorf("%w: epoch %d, already saw %d", ErrRollback, epoch, st.mu.epoch)
	case epoch == st.mu.epoch && st.mu.mac != nil && !bytes.Equal(mac, st.mu.mac):
		return fmt.Errorf("%w: a different keyring with the same epoch %d", ErrRollback, epoch)
	}
	return nil
}

// observe checks doc against the epochs seen (in memory and in the state file) and then records
// its epoch as seen, in both.
func (st *sealedStore) observe(doc *Document, mac []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.checkLocked(doc.Epoch, mac); err != nil {
		return err
	}
	if st.state != nil {
		err := st.state.advance(doc.KeyringID, doc.Epoch, mac)
		if err != nil && (!errors.Is(err, errStateWrite) || st.onStateWriteError == nil) {
			return err
		}
		if err != nil {
			st.onStateWriteError(err)
		}
	}
	st.mu.epoch, st.mu.mac = doc.Epoch, mac
	return nil
}
