package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The precise walk knows the node fields it understands; a field it forgets (an aggregate's
// FILTER once was one) would let `email = 'x'` through unrewritten. So after the precise walk of
// a statement that mentions an encrypted table, every column reference and every INSERT,
// UPDATE, DELETE and MERGE in it must have been examined by the precise walk; one it never
// examined is refused: whatever expression holds it went unanalysed. collect, whose walk reaches
// every node (it must, to decide mentions), lists them in facts.watched, so the check costs no
// second walk; TestCollectWatchesEveryNode holds collect to that.

// seenSet records the nodes the precise walk examined in the current statement.
type seenSet map[protoreflect.ProtoMessage]struct{}

// see records that the precise walk examined m.
func (a *analyzer) see(m protoreflect.ProtoMessage) {
	if a.seen == nil {
		a.seen = seenSet{}
	}
	a.seen[m] = struct{}{}
}

// checkCoverage refuses a statement whose watched nodes the precise walk did not all examine.
func (a *analyzer) checkCoverage(watched []protoreflect.ProtoMessage, pos int) error {
	for _, m := range watched {
		if _, ok := a.seen[m]; ok {
			continue
		}
		if cr, ok := m.(*pg.ColumnRef); ok {
			return unsupportedf(nodeLocOr(int(cr.Location), pos),
				"a column reference pgseal did not analyse in a statement on an encrypted table is not supported")
		}
		return unsupportedf(pos, "%s inside a statement on an encrypted table is not supported here",
			string(m.ProtoReflect().Descriptor().Name()))
	}
	return nil
}

// walkAll calls visit on m and every message below it, depth first, until visit returns false.
func walkAll(m protoreflect.Message, visit func(protoreflect.Message) bool) bool {
	if !visit(m) {
		return false
	}
	ok := true
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := val.List()
			for i := 0; i < l.Len() && ok; i++ {
				ok = walkAll(l.Get(i).Message(), visit)
			}
			return ok
		}
		ok = walkAll(val.Message(), visit)
		return ok
	})
	return ok
}

func nodeLocOr(loc, fallback int) int {
	if loc >= 0 {
		return loc
	}
	return fallback
}
