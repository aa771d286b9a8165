package column

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
	Ord                 bool       // values carry an order term (search = ["ord"])
	Match               bool       // values carry match tokens (search = ["match"])
	ByteOrder           bool       // text_order = "bytes"
	// OrdMaxBytes bounds the canonical length of a text or numeric value of an Ord column
	// (config ord_max_bytes; 0 means config.DefaultOrdMaxBytes).
	OrdMaxBytes int
	// MaxChars is a varchar(n) column's n ([[encrypt]] modifiers), 0 without one: values
	// assigned through the proxy are fitted to it as PostgreSQL does (value.FitChars).
	MaxChars int
}

// FromConfig builds the Column of one [[encrypt]] entry; its id and domain follow
// config.Encrypt's ColumnID and TermDomain, as internal/catalog's do.
func FromConfig(e config.Encrypt) (Column, error) {
	schema, name, _ := strings.Cut(strings.ToLower(e.QualifiedTable()), ".")
	col := Column{Schema: schema, Table: name, Name: strings.ToLower(e.Column), Eq: e.HasEq(), ID: e.ColumnID(), Domain: e.TermDomain(),
		Ord: e.HasOrd(), Match: e.HasMatch(), ByteOrder: e.TextOrder == "bytes", OrdMaxBytes: e.OrdLimit()}
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
func (c *Column) QualifiedTable() string { return c.Schema + "." + c.Table }

// Seal encrypts one plaintext (value.Encode's output: tag byte + canonical form) of c under ks's
// primary generation and appends the envelope to dst. The envelope carries every term c is
// configured for: the equality term (Term) when c.Eq, the order term (OrdTerm) when c.Ord, the
// match tokens (MatchTokens) when c.Match. The proxy and every migration command write values
// through this one function, so both always produce the same envelopes.
func (c *Column) Seal(dst []byte, ks *keyring.Keyset, plain []byte) ([]byte, error) {
	t, err := c.Terms(ks, plain)
	if err != nil {
		return dst, err
	}
	return c.SealWithTerms(dst, ks, plain, t)
}

// Terms computes the terms c is configured for of a plaintext of c under ks (nil where c has
// none).
func (c *Column) Terms(ks *keyring.Keyset, plain []byte) (crypto.Terms, error) {
	var t crypto.Terms
	var err error
	if c.Eq {
		if t.Eq, err = c.Term(ks, plain); err != nil {
			return t, err
		}
	}
	if c.Ord {
		if t.Ord, err = c.OrdTerm(nil, ks, plain); err != nil {
			return t, err
		}
	}
	if c.Match {
		if t.Match, err = c.MatchTokens(nil, ks, plain); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Term returns the equality term of a plaintext of c under ks:
// TermKey(c.Domain).Term(tag, EqualityForm(plain)).
func (c *Column) Term(ks *keyring.Keyset, plain []byte) ([]byte, error) {
	tk, err := ks.TermKey(c.Domain)
	if err != nil {
		return nil, err
	}
	var buf [64]byte
	eq, err := value.EqualityForm(buf[:0], c.Type, plain)
	if err != nil {
		return nil, err
	}
	return tk.Term(nil, byte(c.Type), eq), nil
}

// SealWithTerm is Seal with an equality term already known (nil for none) and no other terms.
func (c *Column) SealWithTerm(dst []byte, ks *keyring.Keyset, plain, term []byte) ([]byte, error) {
	return c.SealWithTerms(dst, ks, plain, crypto.Terms{Eq: term})
}

// SealWithTerms is Seal with the terms already known: re-encryption keeps the terms of the
// envelope it replaces (crypto.Header.Terms, copied out of the old envelope first).
func (c *Column) SealWithTerms(dst []byte, ks *keyring.Keyset, plain []byte, t crypto.Terms) ([]byte, error) {
	ck, err := ks.PrimaryColumnKey(c.ID)
	if err != nil {
		return dst, err
	}
	return ck.SealTerms(dst, plain, t)
}

var (
	// ErrForeignKeyset: an envelope names a keyset the keyring does not have.
	ErrForeignKeyset = errors.New("value was encrypted under a keyset this keyring does not have")
	// ErrOtherKeyset: an envelope names another keyset than the one Open was told to expect.
	ErrOtherKeyset = errors.New("value belongs to another keyset")
)

// Open decrypts one envelope of c with the keyset and generation its header names and appends
// the plaintext to dst. With want set, the envelope must belong to that keyset: else
// ErrOtherKeyset, with the header and the envelope's keyset when the keyring has it (for an audit
// line). It returns the keyset and header, so that callers can re-seal under the same keyset
// (reencrypt) or keep the term. Errors: the header's (malformed), ErrOtherKeyset,
// ErrForeignKeyset, the keyring's (keyring.ErrUnavailable for a generation it cannot use), or
// the AEAD's (authentication failed). A successful Open allocates nothing beyond dst's growth.
func (c *Column) Open(dst []byte, snap *keyring.Snapshot, env []byte, want *crypto.KeysetID) ([]byte, *keyring.Keyset, crypto.Header, error) {
	return c.OpenCached(dst, snap, env, want, nil)
}

// KeyCache remembers the column key the last Open through it found: the values of one result
// column nearly all name the same keyset and generation, and looking the key up (a map, then a
// sync.Map with an interface key) was ≈ 8% of decrypting a row. The zero KeyCache is empty; one
// KeyCache must not be used by two goroutines at once.
type KeyCache struct {
	snap *keyring.Snapshot
	col  *Column
	id   crypto.KeysetID
	gen  uint32
	ks   *keyring.Keyset
	ck   *crypto.ColumnKey
}

// OpenCached is Open with kc (nil: none) remembering the column key. The keyset check (want)
// comes first, as in Open; the key is reused only for the same snapshot, column, keyset and
// generation, so it is the key Open would have found (a snapshot's keys never change: the keyring
// makes a new snapshot for every change, and a key that was refused is not remembered). When the
// remembered key opens the value, the returned header holds only its keyset and generation.
func (c *Column) OpenCached(dst []byte, snap *keyring.Snapshot, env []byte, want *crypto.KeysetID, kc *KeyCache) ([]byte, *keyring.Keyset, crypto.Header, error) {
	if kc != nil && kc.ck != nil && kc.snap == snap && kc.col == c && (want == nil || *want == kc.id) {
		// The remembered key's Open checks the header and that it names the key's keyset and
		// generation, so a hit needs no parse of its own; any other envelope takes the long way.
		out, err := kc.ck.Open(dst, env)
		if !errors.Is(err, crypto.ErrWrongKey) && !errors.Is(err, crypto.ErrMalformed) {
			h := crypto.Header{Keyset: kc.id, Generation: kc.gen}
			if err != nil {
				return dst, kc.ks, h, err
			}
			return out, kc.ks, h, nil
		}
	}
	h, err := crypto.ParseHeader(env)
	if err != nil {
		return dst, nil, h, err
	}
	if want != nil && h.Keyset != *want {
		ks, _ := snap.KeysetByID(h.Keyset)
		return dst, ks, h, ErrOtherKeyset
	}
	var ks *keyring.Keyset
	var ck *crypto.ColumnKey
	if kc != nil && kc.ck != nil && kc.snap == snap && kc.col == c && kc.id == h.Keyset && kc.gen == h.Generation {
		ks, ck = kc.ks, kc.ck
	} else {
		var ok bool
		if ks, ok = snap.KeysetByID(h.Keyset); !ok {
			return dst, nil, h, fmt.Errorf("%w (%s)", ErrForeignKeyset, h.Keyset)
		}
		if ck, err = ks.ColumnKey(h.Generation, c.ID); err != nil {
			return dst, ks, h, err
		}
		if kc != nil {
			*kc = KeyCache{snap: snap, col: c, id: h.Keyset, gen: h.Generation, ks: ks, ck: ck}
		}
	}
	out, err := ck.Open(dst, env)
	if err != nil {
		return dst, ks, h, err
	}
	return out, ks, h, nil
}
