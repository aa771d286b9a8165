package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pgseal/pgseal/internal/crypto"
)

// Access keys look like pgsk_<32 hex id>_<43 base64url secret>; tokens like pgst_<76 base64url>.
const (
	accessKeyPrefix = "pgsk_"
	tokenPrefix     = "pgst_"
	tokenVersion    = 1
	// tokenBody = version (1) || access key id (16) || expiry unix seconds (8); then a 32-byte MAC.
	tokenBodyLen = 1 + 16 + 8
	tokenLen     = tokenBodyLen + 32
	// MaxTokenTTL bounds how long an access token lives.
	MaxTokenTTL = time.Hour
)

// AccessKeyInfo is the public view of an access key (never its secret).
type AccessKeyInfo struct {
	ID        uuid.UUID `json:"id"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateAccessKey adds an access key with role (only RoleControl exists) and returns it with its
// secret, which is shown this once: the keyring keeps only its SHA-256. A control key manages
// keysets and clients through the control API; it is not a client, so it can never decrypt data.
func (m *Manager) CreateAccessKey(ctx context.Context, role string) (AccessKeyInfo, string, error) {
	if role != RoleControl {
		return AccessKeyInfo{}, "", fmt.Errorf("access key role %q: want %q: %w", role, RoleControl, ErrInvalid)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	defer clear(secret)
	sum := sha256.Sum256(secret)
	rec := AccessKeyRecord{ID: uuid.New(), Role: role, CreatedAt: m.now().UTC(), SecretSHA256: sum[:]}
	_, err := m.update(ctx, func(doc *Document) error {
		doc.AccessKeys = append(doc.AccessKeys, rec)
		return nil
	})
	if err != nil {
		return AccessKeyInfo{}, "", err
	}
	key := accessKeyPrefix + hex.EncodeToString(rec.ID[:]) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	return AccessKeyInfo{ID: rec.ID, Role: rec.Role, CreatedAt: rec.CreatedAt}, key, nil
}

// parseAccessKey splits an access key; any malformation is ErrUnauthorized.
func parseAccessKey(key string) (uuid.UUID, []byte, error) {
	rest, ok := strings.CutPrefix(key, accessKeyPrefix)
	if !ok || len(rest) != 32+1+43 || rest[32] != '_' {
		return uuid.Nil, nil, ErrUnauthorized
	}
	var id uuid.UUID
	if _, err := hex.Decode(id[:], []byte(rest[:32])); err != nil {
		return uuid.Nil, nil, ErrUnauthorized
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(rest[33:])
	if err != nil || len(secret) != 32 {
		return uuid.Nil, nil, ErrUnauthorized
	}
	return id, secret, nil
}

// verifyAccessKey checks key against the stored verifiers in constant time per candidate.
func verifyAccessKey(keys map[uuid.UUID]AccessKeyRecord, key string) (AccessKeyInfo, error) {
	id, secret, err := parseAccessKey(key)
	if err != nil {
		return AccessKeyInfo{}, err
	}
	sum := sha256.Sum256(secret)
	rec, ok := keys[id]
	if !ok || subtle.ConstantTimeCompare(sum[:], rec.SecretSHA256) != 1 {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	return AccessKeyInfo{ID: rec.ID, Role: rec.Role, CreatedAt: rec.CreatedAt}, nil
}

// VerifyAccessKey checks an access key against the current keyring.
func (m *Manager) VerifyAccessKey(ctx context.Context, key string) (AccessKeyInfo, error) {
	snapKeys, _, err := m.accessKeys(ctx)
	if err != nil {
		return AccessKeyInfo{}, err
	}
	return verifyAccessKey(snapKeys, key)
}

// accessKeys returns the access keys and keyring id, from the attached Keyring's snapshot when
// there is one (no I/O), else from the store.
func (m *Manager) accessKeys(ctx context.Context) (map[uuid.UUID]AccessKeyRecord, uuid.UUID, error) {
	if m.kr != nil {
		s := m.kr.Snapshot()
		return s.accessKeys, s.keyringID, nil
	}
	doc, err := m.load(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	keys := make(map[uuid.UUID]AccessKeyRecord, len(doc.AccessKeys))
	for _, a := range doc.AccessKeys {
		keys[a.ID] = a
	}
	return keys, doc.KeyringID, nil
}

// IssueToken exchanges a control access key for a short-lived bearer token (ttl, at most
// MaxTokenTTL). Tokens are stateless, signed with a key derived from the master key and keyring
// id, so every replica accepts them; one stays valid only while its access key exists.
func (m *Manager) IssueToken(ctx context.Context, accessKey string, ttl time.Duration) (string, time.Time, error) {
	keys, keyringID, err := m.accessKeys(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	info, err := verifyAccessKey(keys, accessKey)
	if err != nil {
		return "", time.Time{}, err
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		ttl = MaxTokenTTL
	}
	expiry := m.now().Add(ttl).Truncate(time.Second)
	body := make([]byte, 0, tokenLen)
	body = append(body, tokenVersion)
	body = append(body, info.ID[:]...)
	body = binary.BigEndian.AppendUint64(body, uint64(expiry.Unix()))
	body = append(body, crypto.MAC(m.s.tokenKey(keyringID), labelToken, body)...)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(body), expiry, nil
}

// VerifyToken checks a bearer token: format, MAC (constant time), expiry, and that its access
// key still exists. Every failure is ErrUnauthorized.
func (m *Manager) VerifyToken(ctx context.Context, token string) (AccessKeyInfo, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) != tokenLen || raw[0] != tokenVersion {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	keys, keyringID, err := m.accessKeys(ctx)
	if err != nil {
		return AccessKeyInfo{}, err
	}
	if !crypto.VerifyMAC(m.s.tokenKey(keyringID), labelToken, raw[:tokenBodyLen], raw[tokenBodyLen:]) {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	exp := int64(binary.BigEndian.Uint64(raw[17:25]))
	if m.now().Unix() >= exp {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	rec, ok := keys[uuid.UUID(raw[1:17])]
	if !ok {
		return AccessKeyInfo{}, ErrUnauthorized
	}
	return AccessKeyInfo{ID: rec.ID, Role: rec.Role, CreatedAt: rec.CreatedAt}, nil
}
