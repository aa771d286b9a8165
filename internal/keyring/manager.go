package keyring

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// DefaultKeysetName is the keyset every new keyring starts with.
const DefaultKeysetName = "default"

// Manager performs the administrative operations. The CLI and the control API both call it, so
// each operation has exactly one implementation. Every change is one Store.Update.
type Manager struct {
	store     Store
	s         *sealer
	now       func() time.Time
	kr        *Keyring // set by Keyring.Manager: its changes are installed at once
	ownsStore bool
}

// NewManager returns a Manager over store; it does not close the store.
func NewManager(store Store, master crypto.Secret) *Manager {
	return &Manager{store: store, s: newSealer(master), now: time.Now}
}

// OpenManager loads the master key, opens the configured store and returns a Manager that owns
// it (for one-shot CLI commands).
func OpenManager(ctx context.Context, cfg config.Keyring, getenv func(string) string) (*Manager, error) {
	master, err := LoadMasterKey(cfg, getenv)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg, master)
	if err != nil {
		return nil, err
	}
	m := NewManager(store, master)
	m.ownsStore = true
	return m, nil
}

// Close closes the store if the Manager opened it.
func (m *Manager) Close() error {
	if m.ownsStore {
		return m.store.Close()
	}
	return nil
}

// update runs fn in a store update and installs the result in the attached Keyring.
func (m *Manager) update(ctx context.Context, fn func(*Document) error) (*Document, error) {
	doc, err := m.store.Update(ctx, fn)
	if err != nil {
		return nil, err
	}
	if m.kr != nil {
		if err := m.kr.installDocument(doc); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

func (m *Manager) load(ctx context.Context) (*Document, error) { return m.store.Load(ctx) }

// KeyringInfo describes a keyring.
type KeyringInfo struct {
	ID      uuid.UUID  `json:"id"`
	Epoch   uint64     `json:"epoch"`
	Default KeysetInfo `json:"default_keyset"`
}

// Init creates a new keyring with its default keyset; ErrExists if the store already has one.
func (m *Manager) Init(ctx context.Context) (KeyringInfo, error) {
	now := m.now().UTC()
	doc := &Document{Format: FormatVersion, KeyringID: uuid.New(), Epoch: 1, CreatedAt: now, UpdatedAt: now,
		Keysets: []KeysetRecord{}, Clients: []ClientRecord{}, AccessKeys: []AccessKeyRecord{}}
	ks, err := m.newKeyset(doc, DefaultKeysetName, "created with the keyring")
	if err != nil {
		return KeyringInfo{}, err
	}
	doc.DefaultKeyset = ks.ID
	if err := m.store.Create(ctx, doc); err != nil {
		return KeyringInfo{}, err
	}
	return KeyringInfo{ID: doc.KeyringID, Epoch: doc.Epoch, Default: keysetInfo(doc, &doc.Keysets[0])}, nil
}

// newKeyset appends a keyset with generation 1 (primary) and its index root to doc.
func (m *Manager) newKeyset(doc *Document, name, description string) (*KeysetRecord, error) {
	if err := ValidKeysetName(name); err != nil {
		return nil, err
	}
	if err := validDescription(description); err != nil {
		return nil, err
	}
	if _, err := doc.keyset(name); err == nil {
		return nil, fmt.Errorf("keyset %q: %w", name, ErrExists)
	}
	now := m.now().UTC()
	ks := KeysetRecord{ID: uuid.New(), Name: name, Description: description, State: KeysetActive, CreatedAt: now}
	data, err := m.s.newRoot(doc.KeyringID, ks.ID, purposeData, 1)
	if err != nil {
		return nil, err
	}
	index, err := m.s.newRoot(doc.KeyringID, ks.ID, purposeIndex, 1)
	if err != nil {
		return nil, err
	}
	ks.Data = []GenerationRecord{{Gen: 1, State: GenPrimary, CreatedAt: now, WrappedRoot: data}}
	ks.Index = GenerationRecord{Gen: 1, State: GenPrimary, CreatedAt: now, WrappedRoot: index}
	doc.Keysets = append(doc.Keysets, ks)
	return &doc.Keysets[len(doc.Keysets)-1], nil
}

// KeysetInfo is the public view of a keyset (no key material).
type KeysetInfo struct {
	ID                uuid.UUID        `json:"id"`
	Name              string           `json:"name"`
	Description       string           `json:"description"`
	State             KeysetState      `json:"state"`
	Default           bool             `json:"default"`
	PrimaryGeneration uint32           `json:"primary_generation"`
	Generations       []GenerationInfo `json:"generations"`
	CreatedAt         time.Time        `json:"created_at"`
}

// GenerationInfo is the public view of a data generation.
type GenerationInfo struct {
	Gen       uint32    `json:"gen"`
	State     GenState  `json:"state"`
	IndexGen  uint32    `json:"index_gen"` // the index generation of its values' search terms
	CreatedAt time.Time `json:"created_at"`
}

func keysetInfo(doc *Document, ks *KeysetRecord) KeysetInfo {
	info := KeysetInfo{ID: ks.ID, Name: ks.Name, Description: ks.Description, State: ks.State,
		Default: ks.ID == doc.DefaultKeyset, CreatedAt: ks.CreatedAt}
	for _, g := range ks.Data {
		info.Generations = append(info.Generations, GenerationInfo{Gen: g.Gen, State: g.State, IndexGen: g.indexOf(), CreatedAt: g.CreatedAt})
		if g.State == GenPrimary {
			info.PrimaryGeneration = g.Gen
		}
	}
	return info
}

// CreateKeyset adds an active keyset with fresh roots.
func (m *Manager) CreateKeyset(ctx context.Context, name, description string) (KeysetInfo, error) {
	var info KeysetInfo
	_, err := m.update(ctx, func(doc *Document) error {
		ks, err := m.newKeyset(doc, name, description)
		if err != nil {
			return err
		}
		info = keysetInfo(doc, ks)
		return nil
	})
	return info, err
}

// ListKeysets returns every keyset, sorted by name.
func (m *Manager) ListKeysets(ctx context.Context) ([]KeysetInfo, error) {
	doc, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeysetInfo, 0, len(doc.Keysets))
	for i := range doc.Keysets {
		out = append(out, keysetInfo(doc, &doc.Keysets[i]))
	}
	slices.SortFunc(out, func(a, b KeysetInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// GetKeyset returns one keyset by name or UUID.
func (m *Manager) GetKeyset(ctx context.Context, nameOrID string) (KeysetInfo, error) {
	doc, err := m.load(ctx)
	if err != nil {
		return KeysetInfo{}, err
	}
	ks, err := doc.keyset(nameOrID)
	if err != nil {
		return KeysetInfo{}, err
	}
	return keysetInfo(doc, ks), nil
}

// editKeyset runs fn on one keyset in one update and returns the keyset afterwards.
func (m *Manager) editKeyset(ctx context.Context, nameOrID string, fn func(*Document, *KeysetRecord) error) (KeysetInfo, error) {
	var info KeysetInfo
	_, err := m.update(ctx, func(doc *Document) error {
		ks, err := doc.keyset(nameOrID)
		if err != nil {
			return err
		}
		err = fn(doc, ks)
		info = keysetInfo(doc, ks)
		return err
	})
	return info, err
}

// Disable makes a keyset refuse every operation (reversible with Enable); its roots stay wrapped.
func (m *Manager) Disable(ctx context.Context, keyset string) (KeysetInfo, error) {
	return m.setKeysetState(ctx, keyset, KeysetDisabled)
}

// Enable makes a disabled keyset usable again.
func (m *Manager) Enable(ctx context.Context, keyset string) (KeysetInfo, error) {
	return m.setKeysetState(ctx, keyset, KeysetActive)
}

func (m *Manager) setKeysetState(ctx context.Context, keyset string, state KeysetState) (KeysetInfo, error) {
	return m.editKeyset(ctx, keyset, func(_ *Document, ks *KeysetRecord) error {
		if ks.State == state {
			return errNoChange
		}
		ks.State = state
		return nil
	})
}

// Load returns the verified document (for tools that need more than the listings).
func (m *Manager) Load(ctx context.Context) (*Document, error) { return m.load(ctx) }

// SetClock replaces the clock used for timestamps and token expiry (nil: time.Now); for tests.
func (m *Manager) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.now = now
}
