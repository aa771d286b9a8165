package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The precise walk knows the node fields it understands; a field it forgets (an aggregate's
// FILTER once was one) would let `email = 'x'` through unrewritten. So after the precise walk of
// a statement that mentions an encrypted table, a reflective walk over every node checks that the
// precise walk looked at every column reference and at every INSERT, UPDATE, DELETE and MERGE. A
// column reference it never examined is refused: whatever expression holds it went unanalysed.

// seenSet records the nodes the precise walk examined in the current statement.
type seenSet map[protoreflect.ProtoMessage]struct{}

// see records that the precise walk examined m.
func (a *analyzer) see(m protoreflect.ProtoMessage) {
	if a.seen == nil {
		a.seen = seenSet{}
	}
	a.seen[m] = struct{}{}
}

// checkCoverage refuses a statement whose column references or data-modifying parts the precise
// walk did not examine.
func (a *analyzer) checkCoverage(n *pg.Node, pos int) error {
	var err error
	walkAll(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch v := m.Interface().(type) {
		case *pg.ColumnRef:
			if _, ok := a.seen[v]; !ok {
				err = unsupportedf(nodeLocOr(int(v.Location), pos),
					"a column reference pgseal did not analyse in a statement on an encrypted table is not supported")
			}
		case *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
			if _, ok := a.seen[v]; !ok {
				err = unsupportedf(pos, "%s inside a statement on an encrypted table is not supported here",
					string(m.Descriptor().Name()))
			}
		}
		return err == nil
	})
	return err
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
