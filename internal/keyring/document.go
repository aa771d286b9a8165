package keyring

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// FormatVersion is the keyring document format this package reads and writes.
const FormatVersion = 1

// KeysetState says whether a keyset may be used.
type KeysetState string

// Keyset states. A disabled keyset refuses every operation but keeps its (wrapped) roots, so it
// can be enabled again.
const (
	KeysetActive   KeysetState = "active"
	KeysetDisabled KeysetState = "disabled"
)

// GenState is the state of one data generation of a keyset.
type GenState string

// Data generation states (docs/crypto.md §6): pending decrypts but is not written, primary is written
// (exactly one per keyset), decrypt-only still decrypts, retired is refused.
const (
	GenPending     GenState = "pending"
	GenPrimary     GenState = "primary"
	GenDecryptOnly GenState = "decrypt-only"
	GenRetired     GenState = "retired"
)

// RoleControl is the only access-key role: it manages keysets and clients, never data.
const RoleControl = "control"

// Document is the whole keyring as stored (inside the sealed envelope, see seal.go). It holds
// only wrapped roots. Stores hand out a freshly parsed Document per call, so callers may modify it.
type Document struct {
	Format        int               `json:"format"`
	KeyringID     uuid.UUID         `json:"keyring_id"`
	Epoch         uint64            `json:"epoch"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	DefaultKeyset uuid.UUID         `json:"default_keyset"`
	Keysets       []KeysetRecord    `json:"keysets"`
	Clients       []ClientRecord    `json:"clients"`
	AccessKeys    []AccessKeyRecord `json:"access_keys"`
}

// KeysetRecord is one keyset at rest.
type KeysetRecord struct {
	ID          uuid.UUID   `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	State       KeysetState `json:"state"`
	CreatedAt   time.Time   `json:"created_at"`
	// Data holds the data generations, numbered 1, 2, … in order.
	Data []GenerationRecord `json:"data_generations"`
	// Index is index generation 1: the root of the search terms (equality, order, match);
	// separate from Data so that rotating data keys alone never changes a term.
	Index GenerationRecord `json:"index_root"`
	// IndexRoots are index generations 2, 3, … in order, added by RotateIndex. An index root has
	// no lifecycle of its own: the terms of a value are under the index generation of its data
	// generation (GenerationRecord.Index), so moving a value to a new data generation
	// (proxy reencrypt) moves its terms too (docs/crypto.md §6).
	IndexRoots []GenerationRecord `json:"index_roots,omitempty"`
}

// indexOf is the index generation of a data generation's values (0 in a record means 1: every
// keyset before index rotation existed).
func (g *GenerationRecord) indexOf() uint32 { return max(g.Index, 1) }

// indexRoot returns index generation gen's record.
func (ks *KeysetRecord) indexRoot(gen uint32) (*GenerationRecord, error) {
	switch {
	case gen == 1:
		return &ks.Index, nil
	case gen >= 2 && int(gen-2) < len(ks.IndexRoots):
		return &ks.IndexRoots[gen-2], nil
	}
	return nil, fmt.Errorf("keyset %q index generation %d: %w", ks.Name, gen, ErrNotFound)
}

// GenerationRecord is one wrapped root key.
type GenerationRecord struct {
	Gen         uint32    `json:"gen"`
	State       GenState  `json:"state"`
	CreatedAt   time.Time `json:"created_at"`
	WrappedRoot []byte    `json:"wrapped_root"`
	// Index (data generations only): the index generation whose root keys the search terms of
	// this generation's values; 0 means 1.
	Index uint32 `json:"index_gen,omitempty"`
}

// ClientRecord is an application identity and its grants (keyset ids). Grants deny by default.
type ClientRecord struct {
	ID        uuid.UUID   `json:"id"`
	Name      string      `json:"name"`
	Active    bool        `json:"active"`
	CreatedAt time.Time   `json:"created_at"`
	Grants    []uuid.UUID `json:"grants"`
}

// AccessKeyRecord is an automation credential. Only the SHA-256 of its secret is stored.
type AccessKeyRecord struct {
	ID           uuid.UUID `json:"id"`
	Role         string    `json:"role"`
	CreatedAt    time.Time `json:"created_at"`
	SecretSHA256 []byte    `json:"secret_sha256"`
}

// keyset finds a keyset by name or UUID text.
func (d *Document) keyset(nameOrID string) (*KeysetRecord, error) {
	id, idErr := uuid.Parse(nameOrID)
	for i := range d.Keysets {
		ks := &d.Keysets[i]
		if ks.Name == nameOrID || idErr == nil && ks.ID == id {
			return ks, nil
		}
	}
	return nil, fmt.Errorf("keyset %q: %w", nameOrID, ErrNotFound)
}

// client finds a client by name or UUID text.
func (d *Document) client(nameOrID string) (*ClientRecord, error) {
	id, idErr := uuid.Parse(nameOrID)
	for i := range d.Clients {
		c := &d.Clients[i]
		if c.Name == nameOrID || idErr == nil && c.ID == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("client %q: %w", nameOrID, ErrNotFound)
}

// validate checks the invariants every stored document keeps. It runs after the MAC verified
// (defence against our own bugs and against documents of another format) and before every write.
func (d *Document) validate() error {
	if d.Format != FormatVersion {
		return fmt.Errorf("format %d, want %d", d.Format, FormatVersion)
	}
	if d.KeyringID == uuid.Nil || d.Epoch == 0 {
		return fmt.Errorf("missing keyring id or epoch")
	}
	ids := map[uuid.UUID]bool{}
	names := map[string]bool{}
	for i := range d.Keysets {
		if err := d.Keysets[i].validate(ids, names); err != nil {
			return err
		}
	}
	if !ids[d.DefaultKeyset] {
		return fmt.Errorf("default keyset %s does not exist", d.DefaultKeyset)
	}
	keysetIDs := ids
	cids := map[uuid.UUID]bool{}
	cnames := map[string]bool{}
	for _, c := range d.Clients {
		if err := ValidClientName(c.Name); err != nil {
			return err
		}
		if c.ID == uuid.Nil || cids[c.ID] || cnames[c.Name] || keysetIDs[c.ID] {
			return fmt.Errorf("client %q: duplicate or missing id or name", c.Name)
		}
		cids[c.ID], cnames[c.Name] = true, true
		seen := map[uuid.UUID]bool{}
		for _, g := range c.Grants {
			if !keysetIDs[g] || seen[g] {
				return fmt.Errorf("client %q: grant of unknown or repeated keyset %s", c.Name, g)
			}
			seen[g] = true
		}
	}
	for _, a := range d.AccessKeys {
		if a.ID == uuid.Nil || cids[a.ID] || a.Role != RoleControl || len(a.SecretSHA256) != 32 {
			return fmt.Errorf("access key %s: bad id, role or verifier", a.ID)
		}
		cids[a.ID] = true
	}
	return nil
}

func (ks *KeysetRecord) validate(ids map[uuid.UUID]bool, names map[string]bool) error {
	if err := ValidKeysetName(ks.Name); err != nil {
		return err
	}
	if err := validDescription(ks.Description); err != nil {
		return err
	}
	if ks.ID == uuid.Nil || ids[ks.ID] || names[ks.Name] {
		return fmt.Errorf("keyset %q: duplicate or missing id or name", ks.Name)
	}
	ids[ks.ID], names[ks.Name] = true, true
	if ks.State != KeysetActive && ks.State != KeysetDisabled {
		return fmt.Errorf("keyset %q: unknown state %q", ks.Name, ks.State)
	}
	primaries, index := 0, uint32(1)
	for i, g := range ks.Data {
		if g.Gen != uint32(i+1) || len(g.WrappedRoot) == 0 {
			return fmt.Errorf("keyset %q: generations must be numbered 1, 2, … with a root", ks.Name)
		}
		if g.indexOf() < index || int(g.indexOf()) > 1+len(ks.IndexRoots) {
			return fmt.Errorf("keyset %q: generation %d has index generation %d (unknown, or older than an earlier generation's)", ks.Name, g.Gen, g.indexOf())
		}
		index = g.indexOf()
		switch g.State {
		case GenPrimary:
			primaries++
		case GenPending, GenDecryptOnly, GenRetired:
		default:
			return fmt.Errorf("keyset %q: generation %d has unknown state %q", ks.Name, g.Gen, g.State)
		}
	}
	if primaries != 1 {
		return fmt.Errorf("keyset %q: %d primary generations, want exactly 1", ks.Name, primaries)
	}
	if ks.Index.Gen != 1 || ks.Index.State != GenPrimary || len(ks.Index.WrappedRoot) == 0 {
		return fmt.Errorf("keyset %q: bad index root", ks.Name)
	}
	for i, r := range ks.IndexRoots {
		if r.Gen != uint32(i+2) || r.State != GenPrimary || len(r.WrappedRoot) == 0 || r.Index != 0 {
			return fmt.Errorf("keyset %q: index roots must be numbered 2, 3, … with a root", ks.Name)
		}
	}
	return nil
}

// primary returns the primary data generation.
func (ks *KeysetRecord) primary() *GenerationRecord {
	for i := range ks.Data {
		if ks.Data[i].State == GenPrimary {
			return &ks.Data[i]
		}
	}
	return nil
}
