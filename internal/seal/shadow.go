package seal

import (
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/catalog"
)

// Migration shadow columns. While `proxy encrypt`/`proxy decrypt` runs, a table has an extra
// column "<column>__pgseal" holding envelopes (or NULL). Applications must not see it: SELECT *
// through pgseal is unchanged during a migration. RowDescription fields whose origin is a shadow
// column (catalog.Info.Shadow), or a column of a configured table that the catalog does not know
// yet and whose name ends in __pgseal (the migration started after the catalog was read; the
// catalog is then reloaded), are dropped together with their DataRow values.
//
// Statements that can return such fields need a plan even when they touch no encrypted column:
// those whose text names a table with a known shadow column. A hidden field met without a plan
// refuses the statement as a schema change (fail closed: the shadow holds ciphertext), and the
// reloaded catalog plans the retry. In the extended protocol the client's per-column result
// formats count the visible columns; the Bind is given a text code at each hidden position when
// the statement's description is known by then (a Bind pipelined before its statement's Describe
// answer fails in the server with a format-count error). COPY TO without a column list still
// includes the shadow column (known limit).

// hiddenCols are the hidden positions of a statement's result, published by the server loop
// (Describe S) for the client loop's Bind.
type hiddenCols struct {
	total   int   // fields the server sends
	pos     []int // hidden field positions, ascending
	version uint64
}

// hiddenCacheMax bounds the session's memory of hidden columns by statement text: drivers that
// cache descriptions (pgx's describe cache) send Parse and Bind together, before the new
// statement's Describe could be answered, so the Bind relies on what an earlier description of
// the same text said.
const hiddenCacheMax = 256

// rememberHidden (server loop) records a statement text's hidden columns.
func (ss *Session) rememberHidden(sp *stmtPlan, hc *hiddenCols) {
	sp.hidden.Store(hc)
	if ss.hiddenN.Add(1) > hiddenCacheMax {
		ss.hiddenBySQL.Clear()
		ss.hiddenN.Store(0)
	}
	ss.hiddenBySQL.Store(sp.plan.SQL, hc)
}

// recallHidden (client loop) gives a new statement what an earlier description of its text said
// under the same catalog.
func (ss *Session) recallHidden(sp *stmtPlan) {
	if v, ok := ss.hiddenBySQL.Load(sp.plan.SQL); ok {
		if hc := v.(*hiddenCols); hc.version == sp.ent.version {
			sp.hidden.Store(hc)
		}
	}
}

// shadowTablesOf lists the lower-case names of the tables that have a shadow column now.
func shadowTablesOf(info *catalog.Info) []string {
	var out []string
	seen := map[string]bool{}
	for a := range info.Shadow {
		_, name, _ := strings.Cut(info.Tables[a.Table], ".")
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, strings.ToLower(name))
		}
	}
	return out
}

// mentionsShadow reports whether sql may read a table that has a shadow column (a text check).
func mentionsShadow(ent *catalogEntry, sql string) bool {
	for _, t := range ent.shadowTables {
		if containsFold(sql, t) {
			return true
		}
	}
	return false
}

// shadowField reports whether a RowDescription field is a shadow column; an unknown column of a
// configured table marks the catalog stale.
func (ss *Session) shadowField(info *catalog.Info, f *pgproto3.FieldDescription, a catalog.Attr) bool {
	if _, ok := info.Shadow[a]; ok {
		return true
	}
	if _, configured := info.Tables[f.TableOID]; !configured {
		return false
	}
	if _, known := info.Columns[a]; known {
		return false
	}
	ss.stale.Store(true)
	return strings.HasSuffix(string(f.Name), catalog.ShadowSuffix)
}

// visibleFields drops the hidden fields of a RowDescription (in place on out).
func visibleFields(out []pgproto3.FieldDescription, lay *layout) []pgproto3.FieldDescription {
	if len(lay.hidden) == 0 {
		return out
	}
	vis := out[:0]
	for i, f := range out {
		if !lay.fields[i].hide {
			vis = append(vis, f)
		}
	}
	return vis
}

// visibleValues drops the hidden values of a DataRow (in place).
func visibleValues(vals [][]byte, lay *layout) [][]byte {
	if len(lay.hidden) == 0 {
		return vals
	}
	vis := vals[:0]
	for i, v := range vals {
		if i < len(lay.fields) && lay.fields[i].hide {
			continue
		}
		vis = append(vis, v)
	}
	return vis
}

// bindFormats returns the result format codes to send upstream: the client's, with a text code
// inserted at each hidden position when the client gave one code per visible column.
func bindFormats(h *atomic.Pointer[hiddenCols], codes []int16) ([]int16, bool) {
	hc := h.Load()
	if hc == nil || len(codes) <= 1 || len(codes) != hc.total-len(hc.pos) {
		return codes, false
	}
	out := make([]int16, 0, hc.total)
	next := 0
	for i := 0; i < hc.total; i++ {
		if len(hc.pos) > 0 && slicesContains(hc.pos, i) {
			out = append(out, 0)
			continue
		}
		out = append(out, codes[next])
		next++
	}
	return out, true
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
