package keyring

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/kms"
)

// A master key in a key management service ([keyring] master_key = "aws-kms://…", see
// internal/kms): a data key the service generated, stored only wrapped in
// master_key_wrapped_file and unwrapped by the service into memory whenever the keyring is
// opened. Nothing of it is cached on disk; a service that cannot be reached or refuses stops the
// keyring from opening, with the service's reason.
//
// A running Keyring asks the service again at every keyring change it applies (the same
// Decrypt, bounded by kmsRecheckTimeout) and compares the answer with the key it holds, in
// constant time:
//   - the same key: the change is applied as usual;
//   - a refusal (kms.ErrRefused: key disabled, pending deletion, not found, access denied, …; or
//     another key): the change is applied sealed (Snapshot.Sealed, ErrSealed): no keyset hands
//     out key material, so every statement on an encrypted column is refused, until a check
//     succeeds again: at the next keyring change, or at the periodic recheck a sealed keyring
//     runs (kmsRecheckEvery);
//   - unreachable (kms.ErrUnreachable: network, timeout, throttling): the change is applied with
//     the key in memory, so that revocations and disables still take effect during an outage;
//     a sealed keyring stays sealed. One warning per outage.

// ErrNoWrappedKey: the wrapped key file does not exist yet (`proxy keyring init` writes it).
var ErrNoWrappedKey = errors.New("no wrapped master key yet: run proxy keyring init")

// readWrapped reads the wrapped key file: the service key's URI and the ciphertext.
func readWrapped(path string) (string, []byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("%s: %w", path, ErrNoWrappedKey)
	}
	if err != nil {
		return "", nil, fmt.Errorf("wrapped master key %s cannot be read: %w", path, err)
	}
	uri, wrapped, err := kms.ParseWrapped(b)
	if err != nil {
		return "", nil, fmt.Errorf("wrapped master key %s: %w", path, err)
	}
	return uri, wrapped, nil
}

// writeWrapped replaces the wrapped key file as the keyring file is replaced (writeAtomic).
func writeWrapped(path, uri string, wrapped []byte) error {
	if err := newFileBackend(path).writeAtomic(kms.MarshalWrapped(uri, wrapped)); err != nil {
		return fmt.Errorf("wrapped master key %s: %w", path, err)
	}
	return nil
}

// kmsTimeout bounds one key-management operation (the SDK retries within it).
const kmsTimeout = 20 * time.Second

// kmsRecheckTimeout bounds the check at a keyring change: short, because the change (a revoke)
// waits for it, and an unreachable service must not hold revocations up for long.
const kmsRecheckTimeout = 5 * time.Second

// kmsRecheckEvery is how often a sealed keyring asks the service again without a keyring change.
var kmsRecheckEvery = time.Minute

// loadKMSMasterKey unwraps the master key under the service key the wrapped key file names.
func loadKMSMasterKey(cfg config.Keyring) (crypto.Secret, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsTimeout)
	defer cancel()
	key, err := unwrapKMSMasterKey(ctx, cfg)
	if err != nil {
		return crypto.Secret{}, err
	}
	defer clear(key)
	return crypto.NewSecret(key), nil
}

// unwrapKMSMasterKey reads the wrapped key file (again: a rewrap may have replaced it) and asks
// the service it names to unwrap it. Errors of the service wrap kms.ErrRefused or
// kms.ErrUnreachable; a missing or bad file is neither (a running keyring treats it as a refusal).
func unwrapKMSMasterKey(ctx context.Context, cfg config.Keyring) ([]byte, error) {
	uri, wrapped, err := readWrapped(cfg.MasterKeyWrappedFile)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	p, err := kms.Open(ctx, uri, kms.Options{Endpoint: cfg.KMSEndpoint})
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	key, err := p.Unwrap(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("keyring: master key: %w", err)
	}
	return key, nil
}

// kmsMaster is what a Keyring keeps to ask the service again.
type kmsMaster struct {
	unwrap func(ctx context.Context) ([]byte, error)
	mu     sync.Mutex // one check at a time; guards outage
	outage bool       // the last check found the service unreachable
}

// withKMSMaster makes the Keyring check its master key with unwrap at every change (Open sets it
// when master_key names a key-management key).
func withKMSMaster(unwrap func(ctx context.Context) ([]byte, error)) Option {
	return func(k *Keyring) { k.master = &kmsMaster{unwrap: unwrap} }
}

// checkMaster asks the service to unwrap the master key again and returns the seal the next
// snapshot gets: nil when the service unwraps the key in memory (or there is no service), an
// ErrSealed when it refuses or unwraps another key, and cur's own seal when it cannot be reached
// (an outage neither seals nor unseals). It logs one warning per outage.
func (k *Keyring) checkMaster(cur *Snapshot) error {
	m := k.master
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), kmsRecheckTimeout)
	defer cancel()
	key, err := m.unwrap(ctx)
	defer clear(key)
	if errors.Is(err, kms.ErrUnreachable) {
		if !m.outage {
			m.outage = true
			k.log.Warn("key management service unreachable: keyring changes are applied with the master key in memory until it answers again",
				zap.Error(err))
		}
		return cur.sealed
	}
	if m.outage {
		m.outage = false
		k.log.Info("key management service reachable again")
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSealed, err)
	}
	if subtle.ConstantTimeCompare(key, k.sealer.master.Bytes()) != 1 {
		return fmt.Errorf("%w: it unwrapped another master key than the one this keyring was opened with", ErrSealed)
	}
	return nil
}

// recheckWhileSealed asks the service again every kmsRecheckEvery while the snapshot in force
// is sealed, so that a keyring recovers without waiting for a keyring change.
func (k *Keyring) recheckWhileSealed(ctx context.Context) {
	t := time.NewTicker(kmsRecheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if k.Snapshot().Sealed() != nil {
				k.reload(ctx)
			}
		}
	}
}

// CreateKMSMasterKey makes the wrapped master key of a keyring whose master_key names a
// key-management key: a new data key from the service, written to master_key_wrapped_file. An
// existing file is kept (created false). It does nothing without master_key.
func CreateKMSMasterKey(ctx context.Context, cfg config.Keyring) (created bool, err error) {
	if cfg.MasterKey == "" {
		return false, nil
	}
	if _, _, err := readWrapped(cfg.MasterKeyWrappedFile); !errors.Is(err, ErrNoWrappedKey) {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, kmsTimeout)
	defer cancel()
	p, err := kms.Open(ctx, cfg.MasterKey, kms.Options{Endpoint: cfg.KMSEndpoint})
	if err != nil {
		return false, fmt.Errorf("keyring: %w", err)
	}
	key, wrapped, err := p.GenerateKey(ctx)
	if err != nil {
		return false, fmt.Errorf("keyring: master key: %w", err)
	}
	defer clear(key)
	if err := writeWrapped(cfg.MasterKeyWrappedFile, p.URI(), wrapped); err != nil {
		return false, fmt.Errorf("keyring: %w", err)
	}
	return true, nil
}

// RewrapKMSMasterKey moves the wrapped master key to the service key to (a rotation of the key
// in the service, or a move to a new one): unwrapped under the key the file names, wrapped under
// to, checked by unwrapping it again, then written in place. The master key itself, and so every
// keyset, is unchanged. It returns the key it was wrapped under before.
func RewrapKMSMasterKey(ctx context.Context, cfg config.Keyring, to string) (from string, err error) {
	if cfg.MasterKeyWrappedFile == "" {
		return "", errors.New("keyring: rewrap needs master_key (and master_key_wrapped_file) in the configuration")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*kmsTimeout)
	defer cancel()
	from, wrapped, err := readWrapped(cfg.MasterKeyWrappedFile)
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	o := kms.Options{Endpoint: cfg.KMSEndpoint}
	old, err := kms.Open(ctx, from, o)
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	next, err := kms.Open(ctx, to, o)
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	key, err := old.Unwrap(ctx, wrapped)
	if err != nil {
		return "", fmt.Errorf("keyring: master key: %w", err)
	}
	defer clear(key)
	rewrapped, err := next.Wrap(ctx, key)
	if err != nil {
		return "", fmt.Errorf("keyring: master key: %w", err)
	}
	back, err := next.Unwrap(ctx, rewrapped)
	if err != nil || !bytes.Equal(back, key) {
		clear(back)
		return "", fmt.Errorf("keyring: the master key rewrapped under %s does not unwrap to itself; nothing was written (%v)", to, err)
	}
	clear(back)
	if err := writeWrapped(cfg.MasterKeyWrappedFile, next.URI(), rewrapped); err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	return from, nil
}
