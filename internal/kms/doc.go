// Package kms keeps pgseal's master key in a key management service: the master key is a data
// key the service generated, stored only wrapped (encrypted under a service key that never leaves
// the service), and unwrapped by the service into memory at start; a running keyring asks the
// service again at every keyring change and compares the answer with the key it holds.
//
// A Provider is one service, chosen by the scheme of the key URI in [keyring] master_key:
//
//	aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…   (or aws-kms://alias/pgseal,
//	aws-kms://1234abcd-…; the region then comes from the AWS environment)
//
// Adding a service (Vault transit, GCP KMS) is a new file: a type implementing Provider and one
// line in providers naming its scheme. Nothing else in pgseal knows which service is in use. Its
// errors must wrap ErrRefused (the service answered no) or ErrUnreachable (it could not be
// asked; when unsure, ErrRefused): at a keyring change a refusal seals the running keyring (no
// key material until the service unwraps the same key again) while an unreachable service lets
// the change apply with the key in memory (internal/keyring, masterkey_kms.go).
//
// The wrapped key lives in a small JSON file ([keyring] master_key_wrapped_file) that names the
// service key it is wrapped under; that name, not the configuration, decides which key unwraps
// it, so `proxy keyring rewrap` can move it to another service key before the configuration
// follows. Every failure (service unreachable, key disabled or wrong, file tampered) is an
// error naming the cause and never a key byte; pgseal then does not start (fail closed).
package kms
