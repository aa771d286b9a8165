package keyring

import (
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/crypto"
)

// Snapshot is one immutable, verified version of the keyring with its roots unwrapped. Lookups
// take no lock. A new snapshot (with fresh key caches) replaces it on every change.
type Snapshot struct {
	keyringID  uuid.UUID
	epoch      uint64
	byName     map[string]*Keyset
	byID       map[crypto.KeysetID]*Keyset
	def        *Keyset
	clients    map[string]*client // by name
	accessKeys map[uuid.UUID]AccessKeyRecord
	suite      byte  // envelope suite of new values
	sealed     error // non-nil: the key management service refused the master key (ErrSealed)
}

type client struct {
	id     uuid.UUID
	active bool
	grants map[crypto.KeysetID]struct{}
}

// Keyset is one keyset of a snapshot: metadata plus its unwrapped roots (unexported, never
// printed). Roots of a disabled keyset and of retired generations are not unwrapped at all.
type Keyset struct {
	ID          crypto.KeysetID
	UUID        uuid.UUID
	Name        string
	Description string
	State       KeysetState

	primary   uint32
	gens      map[uint32]generation
	indexGen  uint32        // the primary generation's index generation: every term is computed under it
	indexRoot crypto.Secret // its root
	rotating  bool          // a generation that is not retired has another index generation
	suite     byte          // envelope suite new values are sealed with
	sealed    error         // the snapshot's: no roots, every key lookup fails with it

	// Caches of crypto handles, per snapshot (so they are flushed on every keyring change).
	// Record keys are never cached: crypto derives them per value.
	columnKeys sync.Map // columnKeyID -> *crypto.ColumnKey
	termKeys   sync.Map // string (domain) -> *crypto.TermKey
	ordKeys    sync.Map // string (domain) -> *crypto.OrdKey
	matchKeys  sync.Map // string (domain) -> *crypto.MatchKey
}

type generation struct {
	state GenState
	index uint32        // index generation of its values' terms
	root  crypto.Secret // zero for retired generations and disabled keysets
}

type columnKeyID struct {
	gen uint32
	col string
}

// Epoch is the keyring epoch this snapshot was built from.
func (s *Snapshot) Epoch() uint64 { return s.epoch }

// KeyringID is the id of the keyring this snapshot belongs to.
func (s *Snapshot) KeyringID() uuid.UUID { return s.keyringID }

// Keyset looks a keyset up by name or by UUID text.
func (s *Snapshot) Keyset(nameOrID string) (*Keyset, bool) {
	if ks, ok := s.byName[nameOrID]; ok {
		return ks, true
	}
	if id, err := uuid.Parse(nameOrID); err == nil {
		ks, ok := s.byID[crypto.KeysetID(id)]
		return ks, ok
	}
	return nil, false
}

// KeysetByID looks a keyset up by its id, as found in an envelope header.
func (s *Snapshot) KeysetByID(id crypto.KeysetID) (*Keyset, bool) {
	ks, ok := s.byID[id]
	return ks, ok
}

// Sealed is nil, or why this snapshot hands out no key material: the key management service
// holding the master key refused it at the keyring change that made this snapshot (it wraps
// ErrSealed, and so ErrUnavailable). A sealed snapshot keeps the keyring's metadata (names,
// grants, states) but has no roots: Allowed is false for everyone, ColumnKey and TermKey fail.
func (s *Snapshot) Sealed() error { return s.sealed }

// Suite is the envelope suite new values are sealed with (crypto.Suite1 or crypto.Suite2).
func (s *Snapshot) Suite() byte { return s.suite }

// Default returns the default keyset.
func (s *Snapshot) Default() *Keyset { return s.def }

// Keysets returns every keyset, in no particular order.
func (s *Snapshot) Keysets() []*Keyset {
	out := make([]*Keyset, 0, len(s.byID))
	for _, ks := range s.byID {
		out = append(out, ks)
	}
	return out
}

// Allowed reports whether client (a PostgreSQL role name or TLS subject) may use ks: the client
// exists and is active, holds a grant on ks, and ks is active. Everything else is denied.
func (s *Snapshot) Allowed(client string, ks *Keyset) bool {
	if ks == nil || !ks.Active() || s.sealed != nil {
		return false
	}
	c, ok := s.clients[client]
	if !ok || !c.active {
		return false
	}
	_, ok = c.grants[ks.ID]
	return ok
}

// Active reports whether the keyset may be used.
func (ks *Keyset) Active() bool { return ks.State == KeysetActive }

// Suite is the envelope suite new values of this keyset are sealed with.
func (ks *Keyset) Suite() byte { return ks.suite }

// PrimaryGeneration is the data generation new values are written with.
func (ks *Keyset) PrimaryGeneration() uint32 { return ks.primary }

// ColumnKey returns the (cached) key for one data generation and column; it seals with the
// snapshot's suite and opens every suite. An unknown or retired
// generation, or a disabled keyset, is ErrUnavailable.
func (ks *Keyset) ColumnKey(gen uint32, columnID string) (*crypto.ColumnKey, error) {
	id := columnKeyID{gen, columnID}
	if k, ok := ks.columnKeys.Load(id); ok {
		return k.(*crypto.ColumnKey), nil
	}
	if ks.sealed != nil {
		return nil, fmt.Errorf("keyset %s: %w", ks.Name, ks.sealed)
	}
	if !ks.Active() {
		return nil, fmt.Errorf("keyset %s is disabled: %w", ks.Name, ErrUnavailable)
	}
	g, ok := ks.gens[gen]
	if !ok || g.root.IsZero() {
		return nil, fmt.Errorf("keyset %s has no usable generation %d: %w", ks.Name, gen, ErrUnavailable)
	}
	k, err := crypto.NewColumnKey(g.root, ks.ID, gen, columnID, ks.suite)
	if err != nil {
		return nil, fmt.Errorf("keyset %s: column key: %w", ks.Name, err)
	}
	actual, _ := ks.columnKeys.LoadOrStore(id, k)
	return actual.(*crypto.ColumnKey), nil
}

// PrimaryColumnKey is ColumnKey for the primary generation (what new writes use).
func (ks *Keyset) PrimaryColumnKey(columnID string) (*crypto.ColumnKey, error) {
	return ks.ColumnKey(ks.primary, columnID)
}

// TermKey returns the (cached) equality-term key of a search domain (a column id or a declared
// join domain) under the keyset's index root.
func (ks *Keyset) TermKey(domain string) (*crypto.TermKey, error) {
	if k, ok := ks.termKeys.Load(domain); ok {
		return k.(*crypto.TermKey), nil
	}
	if ks.sealed != nil {
		return nil, fmt.Errorf("keyset %s: %w", ks.Name, ks.sealed)
	}
	if !ks.Active() || ks.indexRoot.IsZero() {
		return nil, fmt.Errorf("keyset %s is disabled: %w", ks.Name, ErrUnavailable)
	}
	k, err := crypto.NewTermKey(ks.indexRoot, ks.ID, ks.indexGen, domain)
	if err != nil {
		return nil, fmt.Errorf("keyset %s: term key: %w", ks.Name, err)
	}
	actual, _ := ks.termKeys.LoadOrStore(domain, k)
	return actual.(*crypto.TermKey), nil
}

// OrdKey returns the (cached) order-term key of a search domain under the keyset's index root
// (docs/search.md §2).
func (ks *Keyset) OrdKey(domain string) (*crypto.OrdKey, error) {
	return indexKey(ks, &ks.ordKeys, domain, "ord key", crypto.NewOrdKey)
}

// MatchKey returns the (cached) match-token key of a search domain under the keyset's index root
// (docs/search.md §3).
func (ks *Keyset) MatchKey(domain string) (*crypto.MatchKey, error) {
	return indexKey(ks, &ks.matchKeys, domain, "match key", crypto.NewMatchKey)
}

// indexKey is TermKey's lookup and derivation for the other index-root keys.
func indexKey[K any](ks *Keyset, cache *sync.Map, domain, what string,
	derive func(crypto.Secret, crypto.KeysetID, uint32, string) (*K, error)) (*K, error) {
	if k, ok := cache.Load(domain); ok {
		return k.(*K), nil
	}
	if ks.sealed != nil {
		return nil, fmt.Errorf("keyset %s: %w", ks.Name, ks.sealed)
	}
	if !ks.Active() || ks.indexRoot.IsZero() {
		return nil, fmt.Errorf("keyset %s is disabled: %w", ks.Name, ErrUnavailable)
	}
	k, err := derive(ks.indexRoot, ks.ID, ks.indexGen, domain)
	if err != nil {
		return nil, fmt.Errorf("keyset %s: %s: %w", ks.Name, what, err)
	}
	actual, _ := cache.LoadOrStore(domain, k)
	return actual.(*K), nil
}

// IndexGeneration is the index generation of the terms of values under data generation gen (0
// for an unknown generation).
func (ks *Keyset) IndexGeneration(gen uint32) uint32 { return ks.gens[gen].index }

// IndexRotating reports whether the keyset is rotating its index keys: a generation that is not
// retired has terms under another index generation than the primary's. Terms of two index
// generations cannot be compared, so until every older generation is retired the proxy refuses
// the keyset's statements that use terms (docs/crypto.md §6).
func (ks *Keyset) IndexRotating() bool { return ks.rotating }

// String names the keyset without any key material.
func (ks *Keyset) String() string { return "keyset " + ks.Name + " (" + ks.UUID.String() + ")" }

// buildSnapshot unwraps the roots of doc. Any root that does not unwrap fails the whole build:
// a keyring is used entirely or not at all. With sealed set, nothing is unwrapped: the snapshot
// carries doc's metadata and sealed, and hands out no key.
func buildSnapshot(s *sealer, doc *Document, suite byte, sealed error) (*Snapshot, error) {
	snap := &Snapshot{
		sealed:     sealed,
		suite:      suite,
		keyringID:  doc.KeyringID,
		epoch:      doc.Epoch,
		byName:     make(map[string]*Keyset, len(doc.Keysets)),
		byID:       make(map[crypto.KeysetID]*Keyset, len(doc.Keysets)),
		clients:    make(map[string]*client, len(doc.Clients)),
		accessKeys: make(map[uuid.UUID]AccessKeyRecord, len(doc.AccessKeys)),
	}
	var kek crypto.Secret
	if sealed == nil {
		kek = s.kek(doc.KeyringID)
	}
	for i := range doc.Keysets {
		ks, err := buildKeyset(s, kek, doc.KeyringID, &doc.Keysets[i], sealed)
		if err != nil {
			return nil, err
		}
		ks.suite = suite
		snap.byName[ks.Name], snap.byID[ks.ID] = ks, ks
	}
	snap.def = snap.byID[crypto.KeysetID(doc.DefaultKeyset)]
	for _, c := range doc.Clients {
		cl := &client{id: c.ID, active: c.Active, grants: make(map[crypto.KeysetID]struct{}, len(c.Grants))}
		for _, g := range c.Grants {
			cl.grants[crypto.KeysetID(g)] = struct{}{}
		}
		snap.clients[c.Name] = cl
	}
	for _, a := range doc.AccessKeys {
		snap.accessKeys[a.ID] = a
	}
	return snap, nil
}

func buildKeyset(s *sealer, kek crypto.Secret, keyringID uuid.UUID, r *KeysetRecord, sealed error) (*Keyset, error) {
	ks := &Keyset{
		ID: crypto.KeysetID(r.ID), UUID: r.ID, Name: r.Name, Description: r.Description, State: r.State,
		gens: make(map[uint32]generation, len(r.Data)), sealed: sealed,
	}
	unwrap := r.State == KeysetActive && sealed == nil
	for _, g := range r.Data {
		gen := generation{state: g.State, index: g.indexOf()}
		if g.State == GenPrimary {
			ks.primary, ks.indexGen = g.Gen, g.indexOf()
		}
		if unwrap && g.State != GenRetired {
			root, err := s.unwrapRoot(kek, keyringID, r.ID, purposeData, g)
			if err != nil {
				return nil, err
			}
			gen.root = root
		}
		ks.gens[g.Gen] = gen
	}
	for _, g := range ks.gens {
		ks.rotating = ks.rotating || g.state != GenRetired && g.index != ks.indexGen
	}
	if unwrap {
		rec, err := r.indexRoot(ks.indexGen)
		if err != nil {
			return nil, err
		}
		root, err := s.unwrapRoot(kek, keyringID, r.ID, purposeIndex, *rec)
		if err != nil {
			return nil, err
		}
		ks.indexRoot = root
	}
	return ks, nil
}
