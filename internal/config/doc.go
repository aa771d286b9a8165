// Package config loads and validates proxy.toml.
//
// A Config exists only through Load (or Default for the embedded dev setup): decoding is strict
// (an unknown key is an error, so a typo cannot silently fall back to a default), environment
// variables PGSEAL_<SECTION>_<KEY> override file values, defaults are set in one place (Default),
// and Validate reports every problem at once rather than the first. The one exception is
// keyring.state_path, whose default depends on other keys after their overrides ("<path>.state"
// for the file store, "keyring.state" for postgres): defaultStatePath derives it in Load.
//
// Secrets never appear in the file: the master key is named by an environment variable or a file
// path, and error messages never echo values that could be secret.
package config
