package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/kms"
)

// A master key in a key management service ([keyring] master_key = "aws-kms://…", see
// internal/kms): a data key the service generated, stored only wrapped in
// master_key_wrapped_file and unwrapped by the service into memory whenever the keyring is
// opened. Nothing of it is cached on disk; a service that cannot be reached or refuses stops the
// keyring from opening, with the service's reason.

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

// loadKMSMasterKey unwraps the master key under the service key the wrapped key file names.
func loadKMSMasterKey(cfg config.Keyring) (crypto.Secret, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsTimeout)
	defer cancel()
	uri, wrapped, err := readWrapped(cfg.MasterKeyWrappedFile)
	if err != nil {
		return crypto.Secret{}, fmt.Errorf("keyring: %w", err)
	}
	p, err := kms.Open(ctx, uri, kms.Options{Endpoint: cfg.KMSEndpoint})
	if err != nil {
		return crypto.Secret{}, fmt.Errorf("keyring: %w", err)
	}
	key, err := p.Unwrap(ctx, wrapped)
	if err != nil {
		return crypto.Secret{}, fmt.Errorf("keyring: master key: %w", err)
	}
	defer clear(key)
	return crypto.NewSecret(key), nil
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
