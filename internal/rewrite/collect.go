package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// facts are found by a generic walk over every node of a statement, including node types the
// analyser does not know. They decide whether the precise walk is needed at all.
type facts struct {
	mentions   bool                        // some relation name resolves to a table with encrypted columns
	maxParam   int                         // highest $N
	setConfigs []*pg.FuncCall              // calls of set_config / pg_catalog.set_config
	refused    *Error                      // the first relation name the schema refuses (a view, an ambiguous name)
	execute    *pg.ExecuteStmt             // EXECUTE, at the top or inside EXPLAIN or CREATE TABLE … AS
	watched    []protoreflect.ProtoMessage // column references and INSERT/UPDATE/DELETE/MERGE (coverage.go)
	schema     *Schema
}

func collect(n *pg.Node, s *Schema) facts {
	f := facts{schema: s}
	f.node(n)
	return f
}

// visit is the generic (reflective, slower) walk used for node types node() does not list.
func (f *facts) visit(m protoreflect.Message, s *Schema) {
	switch v := m.Interface().(type) {
	case *pg.RangeVar:
		// Every relation name of every statement passes here, whatever node holds it: the one
		// place where a refused or ambiguous name is caught.
		if msg := s.refusal(v.Schemaname, v.Relname); msg != "" && f.refused == nil {
			f.refused = &Error{Code: CodeFeatureNotSupported, Message: msg, Offset: int(v.Location)}
		}
		if t := s.lookup(v.Schemaname, v.Relname); t != nil && len(t.Encrypted) > 0 {
			f.mentions = true
		}
	case *pg.ParamRef:
		if int(v.Number) > f.maxParam {
			f.maxParam = int(v.Number)
		}
	case *pg.FuncCall:
		if isSetConfig(v.Funcname) {
			f.setConfigs = append(f.setConfigs, v)
		}
	case *pg.ExecuteStmt:
		f.execute = v
	case *pg.ColumnRef, *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
		f.watched = append(f.watched, v.(protoreflect.ProtoMessage))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				f.visit(l.Get(i).Message(), s)
			}
			return true
		}
		if fd.IsMap() {
			return true
		}
		f.visit(val.Message(), s)
		return true
	})
}

// isSetConfig matches set_config and pg_catalog.set_config.
func isSetConfig(names []*pg.Node) bool {
	parts := strs(names)
	switch len(parts) {
	case 1:
		return parts[0] == "set_config"
	case 2:
		return parts[0] == "pg_catalog" && parts[1] == "set_config"
	}
	return false
}

// strs returns the String values of a name list ("" for non-strings).
func strs(names []*pg.Node) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if s := n.GetString_(); s != nil {
			out[i] = s.Sval
		}
	}
	return out
}
