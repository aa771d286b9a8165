package keyring

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/crypto"
)

// Every key the master key yields is derived here, each under its own label.
const (
	labelMAC   = "pgseal/v1/keyring-mac"   // MAC over the whole document
	labelCheck = "pgseal/v1/keyring-check" // key check value: tells a wrong master key from tampering
	labelKEK   = "pgseal/v1/keyring-kek"   // wraps keyset roots; context = keyring id
	labelToken = "pgseal/v1/control-token" // signs control API access tokens; context = keyring id

	purposeData  = "data"
	purposeIndex = "index"

	// maxSealedSize bounds what is parsed (a keyring of ~100k keysets is far below it).
	maxSealedSize = 64 << 20
)

// sealed is the stored form: the document as raw JSON bytes (the MAC covers exactly those bytes,
// so no canonical re-serialisation is needed) plus a key check value and the MAC.
type sealed struct {
	Format   int             `json:"format"`
	KeyCheck []byte          `json:"key_check"`
	Document json.RawMessage `json:"document"`
	MAC      []byte          `json:"mac"`
}

// sealer seals and opens documents under one master key.
type sealer struct {
	master   crypto.Secret
	macKey   crypto.Secret
	keyCheck []byte
}

func newSealer(master crypto.Secret) *sealer {
	check := crypto.DeriveKey(master, labelCheck, nil)
	return &sealer{
		master:   master,
		macKey:   crypto.DeriveKey(master, labelMAC, nil),
		keyCheck: crypto.MAC(check, labelCheck, nil),
	}
}

// seal serialises doc and authenticates it; it returns the stored bytes and their MAC.
func (s *sealer) seal(doc *Document) ([]byte, []byte, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: encode: %w", err)
	}
	mac := crypto.MAC(s.macKey, labelMAC, body)
	// Compact on purpose: an indenting encoder would re-indent the raw document and break its MAC.
	out, err := json.Marshal(sealed{
		Format:   FormatVersion,
		KeyCheck: s.keyCheck,
		Document: body,
		MAC:      mac,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: encode: %w", err)
	}
	return append(out, '\n'), mac, nil
}

// open verifies and parses a sealed document. It returns the document and its MAC (the caller
// uses the MAC to detect two different documents claiming the same epoch).
func (s *sealer) open(data []byte) (*Document, []byte, error) {
	if len(data) > maxSealedSize {
		return nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrTampered, maxSealedSize)
	}
	var env sealed
	if err := strictUnmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: not a sealed keyring: %v", ErrTampered, err)
	}
	if env.Format != FormatVersion {
		return nil, nil, fmt.Errorf("%w: sealed format %d, want %d", ErrTampered, env.Format, FormatVersion)
	}
	if subtle.ConstantTimeCompare(env.KeyCheck, s.keyCheck) != 1 {
		return nil, nil, ErrWrongMasterKey
	}
	if !crypto.VerifyMAC(s.macKey, labelMAC, env.Document, env.MAC) {
		return nil, nil, fmt.Errorf("%w: MAC mismatch", ErrTampered)
	}
	var doc Document
	if err := strictUnmarshal(env.Document, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if err := doc.validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return &doc, env.MAC, nil
}

// strictUnmarshal decodes exactly one JSON value with no unknown fields.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// kek is the key that wraps the roots of one keyring.
func (s *sealer) kek(keyringID uuid.UUID) crypto.Secret {
	return crypto.DeriveKey(s.master, labelKEK, keyringID[:])
}

// tokenKey signs control API tokens of one keyring; every replica with the master key derives it.
func (s *sealer) tokenKey(keyringID uuid.UUID) crypto.Secret {
	return crypto.DeriveKey(s.master, labelToken, keyringID[:])
}

// rootAAD = keyring id || keyset id || purpose || 0x00 || generation (big-endian): a wrapped root
// moved to another keyset, purpose, generation or keyring fails to unwrap.
func rootAAD(keyringID, keysetID uuid.UUID, purpose string, gen uint32) []byte {
	b := make([]byte, 0, 16+16+len(purpose)+1+4)
	b = append(b, keyringID[:]...)
	b = append(b, keysetID[:]...)
	b = append(b, purpose...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, gen)
}

// newRoot makes a fresh random root and returns it wrapped for storage.
func (s *sealer) newRoot(keyringID, keysetID uuid.UUID, purpose string, gen uint32) ([]byte, error) {
	root := crypto.RandomSecret()
	defer root.Wipe()
	w, err := crypto.Wrap(s.kek(keyringID), root.Bytes(), rootAAD(keyringID, keysetID, purpose, gen))
	if err != nil {
		return nil, fmt.Errorf("keyring: wrap new root: %w", err)
	}
	return w, nil
}

// unwrapRoot returns the root of one generation; any failure is ErrTampered.
func (s *sealer) unwrapRoot(kek crypto.Secret, keyringID, keysetID uuid.UUID, purpose string, g GenerationRecord) (crypto.Secret, error) {
	pt, err := crypto.Unwrap(kek, g.WrappedRoot, rootAAD(keyringID, keysetID, purpose, g.Gen))
	if err != nil || len(pt) != crypto.KeySize {
		return crypto.Secret{}, fmt.Errorf("%w: %s root %d of keyset %s does not unwrap", ErrTampered, purpose, g.Gen, keysetID)
	}
	defer clear(pt)
	return crypto.NewSecret(pt), nil
}
