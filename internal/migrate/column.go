package migrate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/value"
)

// Column is one encrypted column as the envelope sees it: the AAD binds ID, terms are keyed by
// Domain, and the plaintext carries Type's tag.
type Column struct {
	Schema, Table, Name string     // lower-case, as configured
	ID                  string     // "schema.table.column", the column key's id
	Domain              string     // equality-term domain; the ID unless a join domain is declared
	Type                value.Type // the plaintext type the application sees
	Eq                  bool       // values carry an equality term (search = ["eq"])
	// MaxChars is a varchar(n) column's n ([[encrypt]] modifiers), 0 without one: values
	// assigned through the proxy are fitted to it as PostgreSQL does (value.FitChars).
	MaxChars int
}

// ColumnFromConfig builds the Column of one [[encrypt]] entry; its id and domain follow
// config.Encrypt's ColumnID and TermDomain, as internal/catalog's do.
func ColumnFromConfig(e config.Encrypt) (Column, error) {
	schema, name, _ := strings.Cut(strings.ToLower(e.QualifiedTable()), ".")
	col := Column{Schema: schema, Table: name, Name: strings.ToLower(e.Column), Eq: e.HasEq(), ID: e.ColumnID(), Domain: e.TermDomain()}
	t, err := value.ParseType(e.Type)
	if err != nil {
		return Column{}, fmt.Errorf("encrypt %s: type %q: %w", col.ID, e.Type, err)
	}
	if col.Eq && !t.SupportsEquality() {
		return Column{}, fmt.Errorf("encrypt %s: type %s has no equality search", col.ID, t)
	}
	col.Type = t
	if t == value.Varchar && len(e.Modifiers) == 1 {
		col.MaxChars = e.Modifiers[0]
	}
	return col, nil
}

// QualifiedTable is "schema.table".
func (c Column) QualifiedTable() string { return c.Schema + "." + c.Table }

// SealValue encrypts one plaintext (value.Encode's output: tag byte + canonical form) of col under
// ks's primary generation and appends the envelope to dst. When col.Eq, the envelope carries the
// equality term TermKey(col.Domain).Term(tag, EqualityForm(plain)). The proxy and every migration
// command write values through this one function, so both always produce the same envelopes.
func SealValue(dst []byte, ks *keyring.Keyset, col Column, plain []byte) ([]byte, error) {
	var term []byte
	if col.Eq {
		var err error
		if term, err = TermOf(ks, col, plain); err != nil {
			return dst, err
		}
	}
	return sealWithTerm(dst, ks, col, plain, term)
}

// TermOf returns the equality term of a plaintext of col under ks.
func TermOf(ks *keyring.Keyset, col Column, plain []byte) ([]byte, error) {
	tk, err := ks.TermKey(col.Domain)
	if err != nil {
		return nil, err
	}
	var buf [64]byte
	eq, err := value.EqualityForm(buf[:0], col.Type, plain)
	if err != nil {
		return nil, err
	}
	return tk.Term(nil, byte(col.Type), eq), nil
}

func sealWithTerm(dst []byte, ks *keyring.Keyset, col Column, plain, term []byte) ([]byte, error) {
	ck, err := ks.PrimaryColumnKey(col.ID)
	if err != nil {
		return dst, err
	}
	return ck.Seal(dst, plain, term)
}

// ErrForeignKeyset: an envelope names a keyset the keyring does not have.
var ErrForeignKeyset = errors.New("value was encrypted under a keyset this keyring does not have")

// OpenValue decrypts one envelope of col with the keyset and generation its header names and
// appends the plaintext to dst. It also returns the keyset and header, so that callers can
// re-seal under the same keyset (reencrypt) or keep the term.
func OpenValue(dst []byte, snap *keyring.Snapshot, col Column, env []byte) ([]byte, *keyring.Keyset, crypto.Header, error) {
	h, err := crypto.ParseHeader(env)
	if err != nil {
		return dst, nil, h, err
	}
	ks, ok := snap.KeysetByID(h.Keyset)
	if !ok {
		return dst, nil, h, fmt.Errorf("%w (%s)", ErrForeignKeyset, h.Keyset)
	}
	ck, err := ks.ColumnKey(h.Generation, col.ID)
	if err != nil {
		return dst, ks, h, err
	}
	out, err := ck.Open(dst, env)
	if err != nil {
		return dst, ks, h, err
	}
	return out, ks, h, nil
}
