package crypto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrintsBytes(t *testing.T) {
	s := NewSecret([]byte("TOPSECRETKEYBYTES"))
	hexForm := fmt.Sprintf("%x", []byte("TOPSECRETKEYBYTES"))
	jsonBytes, _ := json.Marshal(struct{ K Secret }{s})
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("msg", "key", s)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", s), "%#v": fmt.Sprintf("%#v", s),
		"%s": fmt.Sprintf("%s", s), "%x": fmt.Sprintf("%x", s), "%X": fmt.Sprintf("%X", s),
		"%q": fmt.Sprintf("%q", s), "%d": fmt.Sprintf("%d", s), "pointer %v": fmt.Sprintf("%v", &s),
		"struct %+v": fmt.Sprintf("%+v", struct{ K Secret }{s}), "String": s.String(),
		"json": string(jsonBytes), "slog": logBuf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "TOPSECRET") || strings.Contains(strings.ToLower(out), hexForm) ||
			strings.Contains(out, "84 79 80") || !strings.Contains(out, "REDACTED") {
			t.Errorf("%s = %q, want only the redaction", name, out)
		}
	}
}

func TestSecretBehaviour(t *testing.T) {
	src := []byte{1, 2, 3}
	s := NewSecret(src)
	src[0] = 9
	if s.Bytes()[0] != 1 || s.Len() != 3 {
		t.Errorf("NewSecret() = %v bytes starting %d, want a 3-byte copy starting 1", s.Len(), s.Bytes()[0])
	}
	if !s.Equal(NewSecret([]byte{1, 2, 3})) || s.Equal(NewSecret([]byte{1, 2, 4})) || s.Equal(NewSecret([]byte{1, 2})) {
		t.Error("Equal() disagrees with byte equality")
	}
	if !(Secret{}).IsZero() || !NewSecret(nil).IsZero() || s.IsZero() {
		t.Error("IsZero() = wrong, want true only for a Secret without bytes")
	}
	r1, r2 := RandomSecret(), RandomSecret()
	if r1.Len() != KeySize || r1.Equal(r2) {
		t.Errorf("RandomSecret() = %d bytes, equal to the next: %v; want 32 fresh bytes", r1.Len(), r1.Equal(r2))
	}
	s.Wipe()
	if !bytes.Equal(s.Bytes(), []byte{0, 0, 0}) {
		t.Errorf("Wipe() left %v, want zeros", s.Bytes())
	}
}
