// Package keyring holds pgseal's keysets, their root keys, clients, grants and access keys, keeps
// them in a store (a JSON file or a PostgreSQL schema), and gives the proxy an immutable, lock-free
// Snapshot with the roots unwrapped and crypto handles cached.
//
// # Model
//
// A keyset has a UUID, a unique name ([a-z0-9_-]{1,63}, never UUID-shaped), a description, a state
// (active or disabled), numbered data generations (pending, primary, decrypt-only, retired;
// exactly one primary) and index roots for the search terms. The index roots are separate from the
// data generations so that rotating data keys never changes terms (lookups and UNIQUE keep
// working); each data generation records the index generation of its values' terms (1 until
// RotateIndex, which adds a data generation with a new index root: docs/crypto.md §6). Every
// keyring starts with a keyset named "default".
// A client is the identity a connection authenticated as (PostgreSQL role name or TLS subject)
// with grants on keysets; grants deny by default. Access keys (role "control") let automation use
// the control API; only the SHA-256 of their secret is stored, and they are not clients, so a
// control key can never decrypt data.
//
// # Keys
//
// The master key (base64 of exactly 32 bytes, from master_key_file or the master_key_env variable,
// or a data key a key management service unwraps into memory: masterkey_kms.go, internal/kms)
// never wraps anything directly; seal.go derives from it, each under its own label: the document
// MAC key, a key check value (which tells "wrong master key" from "tampered"), the root-wrapping
// KEK (per keyring id) and the control-token key (per keyring id). Roots are wrapped with
// crypto.Wrap, AAD = keyring id || keyset id || purpose ("data"/"index") || 0x00 || generation, so
// a wrapped root moved anywhere else fails to unwrap. Roots exist unwrapped only inside Snapshots;
// roots of disabled keysets and retired generations are not unwrapped at all. A master key from a
// key management service is checked again at every change a running Keyring applies; a refusal
// installs the change as a sealed Snapshot, which holds no roots at all (Snapshot.Sealed,
// ErrSealed; see masterkey_kms.go).
//
// # Stores and integrity
//
// Both stores keep the same sealed bytes: {"format":1,"key_check":…,"document":{…},"mac":…}; the
// MAC covers the document's exact bytes (no canonicalisation needed). Each Store remembers the
// highest epoch (+1 per change) it has seen and refuses an older one, or a different document at
// the same epoch (ErrRollback), and, when keyring.state_path is set (config.Load always sets it),
// persists that guard across restarts in a state file (state.go): keyring id, highest epoch
// accepted on this host and the document MAC at that epoch, MAC'd under its own key derived from
// the master key ("pgseal/v1/keyring-state"), so it cannot be forged to a lower value. Every Load,
// Create and Update checks the file (an Update or init refuses before writing on top of a
// rolled-back or another keyring), and every newer document accepted is recorded (temp file,
// fsync, rename, fsync dir, under flock of "<state>.lock"; the proxy and CLI commands of one host
// share it and never lower each other's record). A missing file is created; a corrupt or forged one
// is ErrStateInvalid (one line, never replaced silently); another keyring's is ErrRollback. A
// state file that verifies but cannot be written (full or read-only disk) does not stop a running
// Keyring from installing a verified newer document (a revocation must take effect): it logs an
// error instead; one-shot commands return the error ("keyring changed (epoch N), but …").
// WARNING: deleting the state file re-opens the rollback window until the next change is
// accepted, and an attacker who can restore an old keyring together with its old state file
// defeats it: keep it with the same care as the keyring. For the postgres store it is a per-host
// file (default "keyring.state" in the working directory): it guards against a rolled-back
// pgseal_keyring row by whoever can write that schema. A document that fails its MAC or invariants is ErrTampered; one
// sealed under another master key is ErrWrongMasterKey. The file store writes atomically (temp,
// fsync, rename, fsync dir) under flock of "<path>.lock" and is watched by polling every 200ms.
// The postgres store keeps one row in pgseal_keyring.keyring, updated under SELECT … FOR UPDATE,
// and NOTIFYs pgseal_keyring with the new epoch in the same transaction; Keyring LISTENs on a
// dedicated connection and reconnects with backoff, reloading after every reconnect.
//
// # Snapshots
//
// Keyring.Snapshot is an atomic load. A reload that fails (tampered, rolled back, wrong key)
// keeps the snapshot in force and logs the error: a bad store never downgrades a good keyring.
// Column and term keys are cached per Snapshot in sync.Maps, so every change starts with fresh
// caches; per-record keys are never cached (crypto derives them per value).
//
// # Operations
//
// Manager is the one implementation of every administrative operation (the CLI and the control
// API both call it); each is one Store.Update. Rotate adds a pending generation, then promotes it
// in a second update (two epochs), so proxies that reload in between can already decrypt values
// of the new generation. Grant and Revoke are idempotent. RetireGeneration only changes state:
// checking that no value still uses the generation is the migration tool's job.
//
// What it leaves out: per-keyset KEKs, an index-root rotation not tied to a data rotation,
// destroying roots, deleting keysets, clients or access keys, and client credentials (clients are
// identified by the proxy's authentication).
package keyring
