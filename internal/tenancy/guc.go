package tenancy

import "strings"

// GUC is one session's view of a set of settings. It is not safe for concurrent use; Clone it to
// hand a copy to another goroutine.
//
// Maps are copied on write, because a session clones and ends blocks once per statement while
// settings rarely change: outside a block (inBlock false) cur and session are frozen and may be
// shared with clones (even be one map); begin() gives the block its own copies, the only maps
// ever written in place. reset, base and savepoint snapshots are always frozen.
type GUC struct {
	reset   map[string]string // startup values: what RESET returns to
	cur     map[string]string // effective now
	session map[string]string // what survives the end of the current block on commit
	inBlock bool
	base    snapshot // at the start of the current block
	saves   []savepoint
}

type snapshot struct{ cur, session map[string]string }

type savepoint struct {
	name string
	snap snapshot
}

// New returns settings at their startup values (names are case-insensitive, as in PostgreSQL).
func New(startup map[string]string) *GUC {
	g := &GUC{reset: map[string]string{}}
	for k, v := range startup {
		g.reset[strings.ToLower(k)] = v
	}
	g.cur, g.session = g.reset, g.reset // frozen until begin()
	return g
}

// Clone returns an independent copy. Outside a block it shares the frozen maps.
func (g *GUC) Clone() *GUC {
	c := new(GUC)
	c.CopyFrom(g)
	return c
}

// CopyFrom makes g an independent copy of src, as Clone does but in place: a session copies its
// confirmed settings at every idle ReadyForQuery, and outside a block that then allocates nothing.
// Whoever holds g sees the new settings.
func (g *GUC) CopyFrom(src *GUC) {
	*g = GUC{reset: src.reset, cur: src.cur, session: src.session, inBlock: src.inBlock, base: src.base}
	if src.inBlock {
		g.cur, g.session = clone(src.cur), clone(src.session)
	}
	if len(src.saves) > 0 {
		g.saves = append([]savepoint(nil), src.saves...)
	}
}

// Get returns the effective value of name and whether it has one.
func (g *GUC) Get(name string) (string, bool) {
	v, ok := g.cur[strings.ToLower(name)]
	return v, ok
}

// Set is SET / SET SESSION / set_config(name, value, false).
func (g *GUC) Set(name, value string) {
	g.begin()
	name = strings.ToLower(name)
	g.cur[name], g.session[name] = value, value
}

// SetLocal is SET LOCAL / set_config(name, value, true): it lasts until the block ends.
func (g *GUC) SetLocal(name, value string) {
	g.begin()
	g.cur[strings.ToLower(name)] = value
}

// Reset is RESET name / SET name TO DEFAULT.
func (g *GUC) Reset(name string) {
	name = strings.ToLower(name)
	if v, ok := g.reset[name]; ok {
		g.Set(name, v)
		return
	}
	g.begin()
	delete(g.cur, name)
	delete(g.session, name)
}

// ResetAll is RESET ALL (and the settings part of DISCARD ALL).
func (g *GUC) ResetAll() {
	g.begin()
	g.cur, g.session = clone(g.reset), clone(g.reset)
}

// Begin starts an explicit transaction block (BEGIN / START TRANSACTION).
func (g *GUC) Begin() { g.begin() }

// begin opens the block the next change belongs to, if none is open: an implicit one that EndBlock
// closes, or the explicit one Begin opens. The frozen maps become the block's base; the block
// writes its own copies.
func (g *GUC) begin() {
	if !g.inBlock {
		g.inBlock = true
		g.base = snapshot{g.cur, g.session}
		g.cur, g.session = clone(g.cur), clone(g.session)
	}
}

// Commit ends the block keeping session-level changes (COMMIT / END / PREPARE TRANSACTION, and the
// successful end of an implicit transaction). Without a block nothing changed since the last end,
// so cur already equals session.
func (g *GUC) Commit() {
	if g.inBlock {
		g.cur = g.session // both frozen from here on
	}
	g.inBlock, g.saves, g.base = false, nil, snapshot{}
}

// Rollback ends the block undoing every change made in it (ROLLBACK / ABORT, a COMMIT of a failed
// block, an error in an implicit transaction).
func (g *GUC) Rollback() {
	if g.inBlock {
		g.cur, g.session = g.base.cur, g.base.session
	}
	g.inBlock, g.saves, g.base = false, nil, snapshot{}
}

// EndBlock closes the current block when the server reports it idle (ReadyForQuery 'I'): committed
// unless failed is true.
func (g *GUC) EndBlock(failed bool) {
	if failed {
		g.Rollback()
		return
	}
	g.Commit()
}

// Savepoint is SAVEPOINT name.
func (g *GUC) Savepoint(name string) {
	g.begin()
	g.saves = append(g.saves, savepoint{strings.ToLower(name), snapshot{clone(g.cur), clone(g.session)}})
}

// RollbackTo is ROLLBACK TO SAVEPOINT name: changes since the savepoint are undone, the savepoint stays.
func (g *GUC) RollbackTo(name string) {
	if i := g.find(name); i >= 0 {
		s := g.saves[i].snap
		g.cur, g.session = clone(s.cur), clone(s.session)
		g.saves = g.saves[:i+1]
	}
}

// Release is RELEASE SAVEPOINT name: changes since it are kept, it and later savepoints go.
func (g *GUC) Release(name string) {
	if i := g.find(name); i >= 0 {
		g.saves = g.saves[:i]
	}
}

// find returns the newest savepoint called name, as PostgreSQL does with duplicate names.
func (g *GUC) find(name string) int {
	name = strings.ToLower(name)
	for i := len(g.saves) - 1; i >= 0; i-- {
		if g.saves[i].name == name {
			return i
		}
	}
	return -1
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
