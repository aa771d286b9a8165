package tenancy

import "errors"

// KeysetSetting is the session setting that names a keyset directly.
const KeysetSetting = "pgseal.keyset"

// Modes of [tenancy] mode.
const (
	ModeMulti  = "multi"
	ModeSingle = "single"
)

// DefaultKeyset is the keyset every keyring starts with.
const DefaultKeyset = "default"

// ErrNoKeyset means no keyset is selected in multi-tenant mode.
var ErrNoKeyset = errors.New("no keyset selected")

// Policy says how settings map to a keyset.
type Policy struct {
	Setting string // the tenant setting, e.g. app.tenant
	Mode    string // ModeMulti or ModeSingle
}

// Selection returns the keyset name or UUID the settings select: pgseal.keyset if set, else the
// tenant setting, else "default" in single mode. An empty value counts as unset (RESET of a
// placeholder setting leaves "", and current_setting returns "" for it).
func (p Policy) Selection(g *GUC) (string, error) {
	if v, ok := g.Get(KeysetSetting); ok && v != "" {
		return v, nil
	}
	if v, ok := g.Get(p.Setting); ok && v != "" {
		return v, nil
	}
	if p.Mode == ModeSingle {
		return DefaultKeyset, nil
	}
	return "", ErrNoKeyset
}

// Tracks says whether name is one of the settings that choose a keyset.
func (p Policy) Tracks(name string) bool {
	return equalFold(name, KeysetSetting) || equalFold(name, p.Setting)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
