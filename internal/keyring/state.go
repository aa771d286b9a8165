package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/crypto"
)

// The state file carries the epoch guard across restarts. A Store remembers in memory the
// highest epoch it has seen; without this file a restarted proxy (or a one-shot CLI command)
// would accept any older keyring that still verifies, for instance one with a since-revoked
// grant, copied back into the file or the pgseal_keyring row. The file records the keyring id,
// the highest epoch accepted on this host and the MAC of the document at that epoch, and is
// itself MAC'd under a key derived from the master key, so nobody without the master key can
// lower it. Deleting it re-opens the rollback window until the next keyring is accepted; an
// attacker who can restore an old keyring together with its old state file defeats it too.
const (
	labelState = "pgseal/v1/keyring-state" // MAC over the state file's body

	stateFormat  = 1
	maxStateSize = 64 << 10
)

// errStateWrite marks a state file that verified but could not be advanced (lock or write
// failed). The document was checked first, so accepting it is safe; only the record lags.
var errStateWrite = errors.New("cannot record the epoch")

// ErrStateInvalid: the state file does not verify (corrupt, forged, or written under another
// master key). It is never silently replaced: that would re-open the rollback window.
var ErrStateInvalid = errors.New("keyring state file failed its integrity check (corrupt, forged or another master key)")

// stateBody is what the state file records.
type stateBody struct {
	KeyringID uuid.UUID `json:"keyring_id"`
	Epoch     uint64    `json:"epoch"`
	DocMAC    []byte    `json:"doc_mac"` // MAC of the keyring document at Epoch
}

// stateSealed is the stored form; the MAC covers Body's exact bytes, as for the keyring.
type stateSealed struct {
	Format int             `json:"format"`
	Body   json.RawMessage `json:"state"`
	MAC    []byte          `json:"mac"`
}

// stateFile reads and advances one state file. Writers serialise on "<path>.lock" (the proxy and
// CLI commands on one host share the file) and write atomically like the file store.
type stateFile struct {
	f   *fileBackend // its path is the state file; used for lock and writeAtomic
	key crypto.Secret
}

func newStateFile(path string, master crypto.Secret) *stateFile {
	return &stateFile{f: newFileBackend(path), key: crypto.DeriveKey(master, labelState, nil)}
}

// load returns the recorded state, or nil when the file does not exist yet.
func (s *stateFile) load() (*stateBody, error) {
	fh, err := os.Open(s.f.path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil // nothing recorded (ENOTDIR: it cannot exist); advance then says why it cannot write
	}
	if err != nil {
		return nil, fmt.Errorf("keyring state file %s: %s", s.f.path, errorsReason(err))
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("keyring state file %s: %s", s.f.path, errorsReason(err))
	}
	body, err := s.open(data)
	if err != nil {
		return nil, fmt.Errorf("keyring state file %s: %w (delete it only if you trust the keyring as it is)", s.f.path, err)
	}
	return body, nil
}

func (s *stateFile) open(data []byte) (*stateBody, error) {
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrStateInvalid, maxStateSize)
	}
	var env stateSealed
	if err := strictUnmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: not a state file", ErrStateInvalid)
	}
	if env.Format != stateFormat {
		return nil, fmt.Errorf("%w: format %d, want %d", ErrStateInvalid, env.Format, stateFormat)
	}
	if !crypto.VerifyMAC(s.key, labelState, env.Body, env.MAC) {
		return nil, fmt.Errorf("%w: MAC mismatch", ErrStateInvalid)
	}
	var body stateBody
	if err := strictUnmarshal(env.Body, &body); err != nil {
		return nil, fmt.Errorf("%w: bad body", ErrStateInvalid)
	}
	return &body, nil
}

func (s *stateFile) seal(body *stateBody) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("keyring state file: encode: %w", err)
	}
	out, err := json.Marshal(stateSealed{Format: stateFormat, Body: b, MAC: crypto.MAC(s.key, labelState, b)})
	if err != nil {
		return nil, fmt.Errorf("keyring state file: encode: %w", err)
	}
	return append(out, '\n'), nil
}

// compare refuses a document that the recorded state says is a rollback: another keyring, an
// older epoch, or a different document at the recorded epoch. It reports whether doc is newer
// than the record (so that advance must write).
func (s *stateFile) compare(cur *stateBody, id uuid.UUID, epoch uint64, mac []byte) (newer bool, err error) {
	switch {
	case cur == nil:
		return true, nil
	case cur.KeyringID != id:
		return false, fmt.Errorf("%w: state file %s records keyring %s, not %s (delete it only if this keyring replaced that one on purpose)",
			ErrRollback, s.f.path, cur.KeyringID, id)
	case epoch < cur.Epoch:
		return false, fmt.Errorf("%w: epoch %d, state file %s records %d", ErrRollback, epoch, s.f.path, cur.Epoch)
	case epoch == cur.Epoch && !bytes.Equal(mac, cur.DocMAC):
		return false, fmt.Errorf("%w: a different keyring with the epoch %d recorded in state file %s", ErrRollback, epoch, s.f.path)
	}
	return epoch > cur.Epoch, nil
}

// check refuses a rollback without writing (before a Create or an Update writes the keyring).
func (s *stateFile) check(id uuid.UUID, epoch uint64, mac []byte) error {
	cur, err := s.load()
	if err != nil {
		return err
	}
	_, err = s.compare(cur, id, epoch, mac)
	return err
}

// advance refuses a rollback and records a newer document, under the lock so that two processes
// never lower each other's record.
// The common case (nothing newer) reads the file and takes no lock, so a read-only state file
// that is already current does not stop a proxy.
func (s *stateFile) advance(id uuid.UUID, epoch uint64, mac []byte) error {
	cur, err := s.load()
	if err != nil {
		return err
	}
	if newer, err := s.compare(cur, id, epoch, mac); err != nil || !newer {
		return err
	}
	unlock, err := s.f.lock()
	if err != nil {
		return fmt.Errorf("keyring state file %s: %w: %w%s", s.f.path, errStateWrite, err, writableHint)
	}
	defer unlock()
	// Read again under the lock: another process may have recorded a newer epoch meanwhile.
	cur, err = s.load()
	if err != nil {
		return err
	}
	newer, err := s.compare(cur, id, epoch, mac)
	if err != nil || !newer {
		return err
	}
	data, err := s.seal(&stateBody{KeyringID: id, Epoch: epoch, DocMAC: mac})
	if err != nil {
		return err
	}
	if err := s.f.writeAtomic(data); err != nil {
		return fmt.Errorf("keyring state file %s: %w: %w%s", s.f.path, errStateWrite, err, writableHint)
	}
	return nil
}

// writableHint ends the errors of a state file that cannot be written (a keyring mounted
// read-only puts the default "<path>.state" on a read-only filesystem).
const writableHint = " (set keyring.state_path to a writable file on persistent storage)"
