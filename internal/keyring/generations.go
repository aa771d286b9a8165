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

// RotateIndex is Rotate with a new index root as well: the new data generation's values carry
// search terms under a fresh index generation. Terms under two index generations cannot be
// compared, so from the first step until every older generation is retired (after proxy
// reencrypt has moved its values, which computes their terms again), proxies refuse the
// keyset's statements that use terms (Keyset.IndexRotating; docs/crypto.md §6).
func (m *Manager) RotateIndex(ctx context.Context, keyset string) (KeysetInfo, error) {
	gen, err := m.addGeneration(ctx, keyset, true)
	if err != nil {
		return KeysetInfo{}, err
	}
	return m.PromoteGeneration(ctx, keyset, gen)
}

// AddGeneration adds a pending data generation with a fresh root and returns its number. Its
// values' terms stay under the primary generation's index generation.
func (m *Manager) AddGeneration(ctx context.Context, keyset string) (uint32, error) {
	return m.addGeneration(ctx, keyset, false)
}

// addGeneration adds a pending data generation and, with newIndex, a new index root for it.
func (m *Manager) addGeneration(ctx context.Context, keyset string, newIndex bool) (uint32, error) {
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
		now := m.now().UTC()
		index := ks.Data[len(ks.Data)-1].Index // the newest generation's, so a pending index rotation carries on
		if newIndex {
			index = uint32(len(ks.IndexRoots) + 2)
			iroot, err := m.s.newRoot(doc.KeyringID, ks.ID, purposeIndex, index)
			if err != nil {
				return err
			}
			ks.IndexRoots = append(ks.IndexRoots, GenerationRecord{Gen: index, State: GenPrimary, CreatedAt: now, WrappedRoot: iroot})
		}
		ks.Data = append(ks.Data, GenerationRecord{Gen: gen, State: GenPending, CreatedAt: now, WrappedRoot: root, Index: index})
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
