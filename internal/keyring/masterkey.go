package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
)

// maxMasterKeyFile bounds what is read from master_key_file: a base64 key is 44 bytes.
const maxMasterKeyFile = 4096

// LoadMasterKey reads the master key named by cfg: unwrapped by a key management service when
// master_key names one (masterkey_kms.go), else master_key_file when set, otherwise the
// environment variable master_key_env (looked up with getenv; os.Getenv when nil). The value must
// be the base64 (standard or URL alphabet, padded or not) of exactly 32 bytes. Errors name the
// source, never the value.
func LoadMasterKey(cfg config.Keyring, getenv func(string) string) (crypto.Secret, error) {
	if cfg.MasterKey != "" {
		return loadKMSMasterKey(cfg)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	var raw []byte
	var source string
	switch {
	case cfg.MasterKeyFile != "":
		source = "master key file " + cfg.MasterKeyFile
		b, err := readSmallFile(cfg.MasterKeyFile)
		if err != nil {
			return crypto.Secret{}, fmt.Errorf("%s: %w", source, err)
		}
		raw = b
	case cfg.MasterKeyEnv != "":
		source = "master key from $" + cfg.MasterKeyEnv
		raw = []byte(getenv(cfg.MasterKeyEnv))
	default:
		return crypto.Secret{}, errors.New("keyring: set master_key_env or master_key_file")
	}
	defer clear(raw)
	key, err := decodeMasterKey(bytes.TrimSpace(raw))
	if err != nil {
		return crypto.Secret{}, fmt.Errorf("%s: %w", source, err)
	}
	return key, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New("cannot be read: " + errorsReason(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMasterKeyFile+1))
	if err != nil {
		return nil, errors.New("cannot be read: " + errorsReason(err))
	}
	if len(b) > maxMasterKeyFile {
		return nil, errors.New("is too large to be a base64 key of 32 bytes")
	}
	return b, nil
}

// errorsReason keeps the OS reason ("no such file or directory") without repeating the path.
func errorsReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// decodeMasterKey decodes and checks a key. Its errors describe the problem, never the input.
func decodeMasterKey(s []byte) (crypto.Secret, error) {
	if len(s) == 0 {
		return crypto.Secret{}, errors.New("is empty: want the base64 of 32 random bytes (e.g. openssl rand -base64 32)")
	}
	str := strings.TrimRight(string(s), "=")
	var out []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if out, err = enc.DecodeString(str); err == nil {
			break
		}
	}
	if err != nil {
		return crypto.Secret{}, errors.New("is not valid base64: want the base64 of 32 random bytes")
	}
	defer clear(out)
	if len(out) != crypto.KeySize {
		return crypto.Secret{}, fmt.Errorf("decodes to %d bytes: want exactly %d random bytes", len(out), crypto.KeySize)
	}
	if bytes.Count(out, out[:1]) == len(out) {
		return crypto.Secret{}, errors.New("is one byte repeated 32 times: want 32 random bytes")
	}
	return crypto.NewSecret(out), nil
}
