package kms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of the master key a Provider generates and unwraps.
const KeySize = 32

// Every Provider error from the service is one of two classes, told apart with errors.Is, so
// that a running keyring reacts to every service the same way (internal/keyring):
var (
	// ErrRefused: the service answered and will not unwrap (key disabled, pending deletion, not
	// found, access denied, another key than the blob's, a blob that is not one) or returned
	// something that is not a master key. A running keyring then seals itself (fails closed).
	ErrRefused = errors.New("refused")
	// ErrUnreachable: the service could not be asked (network, timeout, throttling, an internal
	// error of the service). A running keyring then keeps the key it holds.
	ErrUnreachable = errors.New("unreachable")
)

// Provider wraps pgseal's master key under a key held by a key management service. Its errors
// wrap ErrRefused or ErrUnreachable; when unsure, a provider says ErrRefused (fail closed).
type Provider interface {
	// URI names the service key, as in [keyring] master_key.
	URI() string
	// GenerateKey returns a new random master key and its wrapped form.
	GenerateKey(ctx context.Context) (key, wrapped []byte, err error)
	// Wrap wraps key under the service key (rewrap to another key).
	Wrap(ctx context.Context, key []byte) ([]byte, error)
	// Unwrap returns the key inside wrapped.
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// Options are what every provider may need besides the key URI.
type Options struct {
	// Endpoint overrides the service's endpoint (a local implementation, a VPC endpoint).
	Endpoint string
}

// opener builds the Provider of one scheme from the rest of the URI.
type opener func(ctx context.Context, key string, o Options) (Provider, error)

// providers names each supported scheme.
var providers = map[string]opener{
	"aws-kms": openAWS,
}

// IsURI reports whether s names a key of a supported service.
func IsURI(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	_, known := providers[scheme]
	return ok && known
}

// Open returns the Provider of a key URI.
func Open(ctx context.Context, uri string, o Options) (Provider, error) {
	scheme, key, ok := strings.Cut(uri, "://")
	open, known := providers[scheme]
	if !ok || !known || key == "" {
		return nil, fmt.Errorf("kms: %q is not a key URI (want aws-kms://<key id, ARN or alias>)", uri)
	}
	return open(ctx, key, o)
}

// wrappedFile is the on-disk form of a wrapped master key.
type wrappedFile struct {
	Version int    `json:"version"`
	Key     string `json:"key"`     // the service key's URI
	Wrapped []byte `json:"wrapped"` // the service's ciphertext
}

// ParseWrapped decodes a wrapped key file's contents: the service key's URI and the ciphertext.
func ParseWrapped(b []byte) (uri string, wrapped []byte, err error) {
	var f wrappedFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version != 1 || !IsURI(f.Key) || len(f.Wrapped) == 0 {
		return "", nil, errors.New("not a version 1 wrapped key file")
	}
	return f.Key, f.Wrapped, nil
}

// MarshalWrapped encodes a wrapped key file's contents.
func MarshalWrapped(uri string, wrapped []byte) []byte {
	b, _ := json.MarshalIndent(wrappedFile{Version: 1, Key: uri, Wrapped: wrapped}, "", "  ") // cannot fail
	return append(b, '\n')
}
