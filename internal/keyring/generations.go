package keyring

import (
	"context"
	"fmt"
)

// Rotate gives a keyset a new data generation that new writes use, in two steps (two epochs),
// as Tink rolls keys out: first the generation is added as pending (every proxy can then decrypt
// it), then it is promoted to primary and the old primary becomes decrypt-only. Older
// generations keep decrypting until retired.
func (m *Manager) Rotate(ctx context.Context, keyset string) (KeysetInfo, error) {
	gen, err := m.AddGeneration(ctx, keyset)
	if err != nil {
		return KeysetInfo{}, err
	}
	return m.PromoteGeneration(ctx, keyset, gen)
}

// AddGeneration adds a pending data generation with a fresh root and returns its number.
func (m *Manager) AddGeneration(ctx context.Context, keyset string) (uint32, error) {
	var gen uint32
	_, err := m.editKeyset(ctx, keyset, func(doc *Document, ks *KeysetRecord) error {
		if ks.State != KeysetActive {
			return fmt.Errorf("keyset %q is disabled: enable it before rotating: %w", ks.Name, ErrInvalid)
		}
		gen = uint32(len(ks.Data) + 1)
		root, err := m.s.newRoot(doc.KeyringID, ks.ID, purposeData, gen)
		if err != nil {
			return err
		}
		ks.Data = append(ks.Data, GenerationRecord{Gen: gen, State: GenPending, CreatedAt: m.now().UTC(), WrappedRoot: root})
		return nil
	})
	return gen, err
}

// PromoteGeneration makes a pending generation primary; the previous primary becomes decrypt-only.
func (m *Manager) PromoteGeneration(ctx context.Context, keyset string, gen uint32) (KeysetInfo, error) {
	return m.editKeyset(ctx, keyset, func(_ *Document, ks *KeysetRecord) error {
		g, err := ks.generation(gen)
		if err != nil {
			return err
		}
		switch g.State {
		case GenPrimary:
			return errNoChange
		case GenPending:
		default:
			return fmt.Errorf("keyset %q generation %d is %s, only a pending generation can be promoted: %w", ks.Name, gen, g.State, ErrInvalid)
		}
		ks.primary().State = GenDecryptOnly
		g.State = GenPrimary
		return nil
	})
}

// RetireGeneration stops a generation from decrypting (its values become unreadable). Checking
// that no stored value still uses it is the migration tool's job; this is only the state change.
// The primary generation cannot be retired.
func (m *Manager) RetireGeneration(ctx context.Context, keyset string, gen uint32) (KeysetInfo, error) {
	return m.editKeyset(ctx, keyset, func(_ *Document, ks *KeysetRecord) error {
		g, err := ks.generation(gen)
		if err != nil {
			return err
		}
		switch g.State {
		case GenRetired:
			return errNoChange
		case GenPrimary:
			return fmt.Errorf("keyset %q generation %d is primary: rotate first: %w", ks.Name, gen, ErrInvalid)
		}
		g.State = GenRetired
		return nil
	})
}

func (ks *KeysetRecord) generation(gen uint32) (*GenerationRecord, error) {
	if gen == 0 || int(gen) > len(ks.Data) {
		return nil, fmt.Errorf("keyset %q generation %d: %w", ks.Name, gen, ErrNotFound)
	}
	return &ks.Data[gen-1], nil
}
