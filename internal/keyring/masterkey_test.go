package keyring

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
)

func TestLoadMasterKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	std := base64.StdEncoding.EncodeToString(raw)
	dir := t.TempDir()
	file := filepath.Join(dir, "mk")
	if err := os.WriteFile(file, []byte(std+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     config.Keyring
		value   string
		wantErr string
	}{
		{"a padded standard base64 key is accepted", config.Keyring{MasterKeyEnv: "K"}, std, ""},
		{"an unpadded key is accepted", config.Keyring{MasterKeyEnv: "K"}, strings.TrimRight(std, "="), ""},
		{"a URL-alphabet key is accepted", config.Keyring{MasterKeyEnv: "K"}, base64.URLEncoding.EncodeToString(raw), ""},
		{"surrounding whitespace is ignored", config.Keyring{MasterKeyEnv: "K"}, "  " + std + "\n", ""},
		{"a key file is read", config.Keyring{MasterKeyFile: file, MasterKeyEnv: "K"}, "", ""},
		{"an unset variable is refused", config.Keyring{MasterKeyEnv: "K"}, "", "is empty"},
		{"text that is not base64 is refused", config.Keyring{MasterKeyEnv: "K"}, "not*base64!secretvalue", "not valid base64"},
		{"31 bytes are refused", config.Keyring{MasterKeyEnv: "K"}, base64.StdEncoding.EncodeToString(raw[:31]), "decodes to 31 bytes"},
		{"33 bytes are refused", config.Keyring{MasterKeyEnv: "K"}, base64.StdEncoding.EncodeToString(append(raw, 1)), "decodes to 33 bytes"},
		{"a repeated byte is refused", config.Keyring{MasterKeyEnv: "K"}, base64.StdEncoding.EncodeToString(make([]byte, 32)), "repeated"},
		{"a missing key file is refused", config.Keyring{MasterKeyFile: filepath.Join(dir, "nope")}, "", "cannot be read"},
		{"no source at all is refused", config.Keyring{}, "", "set master_key_env or master_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := LoadMasterKey(tt.cfg, func(string) string { return tt.value })
			if tt.wantErr == "" {
				if err != nil || key.Len() != 32 {
					t.Fatalf("LoadMasterKey() = %v, want a 32-byte key", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadMasterKey() = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.value != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
				t.Fatalf("LoadMasterKey() error %q contains the key value", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name, in string
		keyset   bool
		ok       bool
	}{
		{"a simple keyset name is valid", "acme-eu_1", true, true},
		{"an empty keyset name is invalid", "", true, false},
		{"a 64-character keyset name is invalid", strings.Repeat("a", 64), true, false},
		{"upper case in a keyset name is invalid", "Acme", true, false},
		{"a UUID-shaped keyset name is invalid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", true, false},
		{"a TLS subject is a valid client name", "CN=billing,O=Acme Inc", false, true},
		{"a control character in a client name is invalid", "app\n", false, false},
		{"an empty client name is invalid", "", false, false},
		{"a UUID-shaped client name is invalid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := ValidClientName
			if tt.keyset {
				check = ValidKeysetName
			}
			if err := check(tt.in); (err == nil) != tt.ok {
				t.Fatalf("Valid(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
