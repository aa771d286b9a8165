package keyring

import (
	"errors"
	"fmt"
)

// Sentinel errors for branching with errors.Is. Messages never contain key material; wrapping
// errors add the name or id of the thing concerned.
var (
	// ErrExists: a keyset, client or keyring with that name or id already exists (HTTP 409).
	ErrExists = errors.New("already exists")
	// ErrNotFound: no keyset, client or generation with that name or id (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: bad input such as a malformed name or an impossible state change (HTTP 400).
	ErrInvalid = errors.New("invalid")
	// ErrNotInitialized: the store holds no keyring yet ("proxy keyring init" creates one).
	ErrNotInitialized = errors.New("keyring not initialized (run \"proxy keyring init\")")
	// ErrWrongMasterKey: the keyring was sealed under another master key.
	ErrWrongMasterKey = errors.New("keyring was sealed under a different master key")
	// ErrTampered: the keyring's MAC or a wrapped root does not verify, or its content is invalid.
	ErrTampered = errors.New("keyring failed its integrity check (tampered or corrupt)")
	// ErrRollback: the keyring's epoch is older than one this process has already seen.
	ErrRollback = errors.New("keyring epoch is older than one already seen (rollback refused)")
	// ErrUnavailable: a key that is not usable: keyset disabled, generation unknown or retired.
	ErrUnavailable = errors.New("key unavailable")
	// ErrSealed: the key management service holding the master key refused it when this running
	// keyring last asked (at a keyring change); no keyset hands out key material until it unwraps
	// the same key again. It is an ErrUnavailable.
	ErrSealed = fmt.Errorf("keyring sealed: the key management service refused the master key (%w)", ErrUnavailable)
	// ErrUnauthorized: an access key or access token that does not verify or has expired.
	ErrUnauthorized = errors.New("unauthorized")
)

// errNoChange is returned by an Update callback that found nothing to change: the store writes
// nothing and the epoch stays (idempotent grant/revoke).
var errNoChange = errors.New("no change")
