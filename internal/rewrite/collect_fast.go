package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// node walks the node types of everyday DML by hand (reflection costs about as much as the
// parse) and hands everything else to the reflective visit, so no node type is ever skipped.
func (f *facts) node(n *pg.Node) {
	if n == nil {
		return
	}
	switch v := n.GetNode().(type) {
	case nil:
	case *pg.Node_ColumnRef:
		f.watched = append(f.watched, v.ColumnRef)
	case *pg.Node_AConst, *pg.Node_String_, *pg.Node_AStar, *pg.Node_SetToDefault,
		*pg.Node_SqlvalueFunction, *pg.Node_Integer, *pg.Node_Boolean:
	case *pg.Node_ParamRef:
		f.visit(v.ParamRef.ProtoReflect(), f.schema)
	case *pg.Node_RangeVar:
		f.visit(v.RangeVar.ProtoReflect(), f.schema)
	case *pg.Node_List:
		f.nodes(v.List.Items)
	case *pg.Node_ResTarget:
		f.nodes(v.ResTarget.Indirection)
		f.node(v.ResTarget.Val)
	case *pg.Node_AExpr:
		f.node(v.AExpr.Lexpr)
		f.node(v.AExpr.Rexpr)
	case *pg.Node_BoolExpr:
		f.nodes(v.BoolExpr.Args)
	case *pg.Node_NullTest:
		f.node(v.NullTest.Arg)
	case *pg.Node_TypeCast:
		f.node(v.TypeCast.Arg)
		f.typeName(v.TypeCast.TypeName)
	case *pg.Node_FuncCall:
		f.funcCall(v.FuncCall)
	case *pg.Node_SortBy:
		f.node(v.SortBy.Node)
	case *pg.Node_JoinExpr:
		f.join(v.JoinExpr)
	case *pg.Node_SubLink:
		f.node(v.SubLink.Testexpr)
		f.node(v.SubLink.Subselect)
	case *pg.Node_RangeSubselect:
		f.node(v.RangeSubselect.Subquery)
	case *pg.Node_AArrayExpr:
		f.nodes(v.AArrayExpr.Elements)
	case *pg.Node_SelectStmt:
		f.selectStmt(v.SelectStmt)
	case *pg.Node_InsertStmt:
		f.insert(v.InsertStmt)
	case *pg.Node_UpdateStmt:
		f.update(v.UpdateStmt)
	case *pg.Node_DeleteStmt:
		f.delete(v.DeleteStmt)
	default:
		f.visit(n.ProtoReflect(), f.schema)
	}
}

func (f *facts) join(j *pg.JoinExpr) {
	f.node(j.Larg)
	f.node(j.Rarg)
	f.node(j.Quals)
	if j.Alias != nil {
		f.visit(j.Alias.ProtoReflect(), f.schema)
	}
}

func (f *facts) update(u *pg.UpdateStmt) {
	f.watched = append(f.watched, u)
	f.relation(u.Relation)
	f.nodes(u.TargetList)
	f.node(u.WhereClause)
	f.nodes(u.FromClause)
	f.nodes(u.ReturningList)
	f.with(u.WithClause)
}

func (f *facts) delete(d *pg.DeleteStmt) {
	f.watched = append(f.watched, d)
	f.relation(d.Relation)
	f.nodes(d.UsingClause)
	f.node(d.WhereClause)
	f.nodes(d.ReturningList)
	f.with(d.WithClause)
}

func (f *facts) nodes(list []*pg.Node) {
	for _, n := range list {
		f.node(n)
	}
}

func (f *facts) relation(rv *pg.RangeVar) {
	if rv != nil {
		f.visit(rv.ProtoReflect(), f.schema)
	}
}

func (f *facts) typeName(t *pg.TypeName) {
	if t != nil {
		f.nodes(t.Typmods)
		f.nodes(t.ArrayBounds)
	}
}

func (f *facts) with(w *pg.WithClause) {
	if w != nil {
		f.visit(w.ProtoReflect(), f.schema)
	}
}

func (f *facts) funcCall(fc *pg.FuncCall) {
	if isSetConfig(fc.Funcname) {
		f.setConfigs = append(f.setConfigs, fc)
	}
	f.nodes(fc.Args)
	f.nodes(fc.AggOrder)
	f.node(fc.AggFilter)
	if fc.Over != nil {
		f.visit(fc.Over.ProtoReflect(), f.schema)
	}
}

func (f *facts) selectStmt(s *pg.SelectStmt) {
	if s == nil {
		return
	}
	f.nodes(s.DistinctClause)
	if s.IntoClause != nil {
		f.visit(s.IntoClause.ProtoReflect(), f.schema)
	}
	f.nodes(s.TargetList)
	f.nodes(s.FromClause)
	f.node(s.WhereClause)
	f.nodes(s.GroupClause)
	f.node(s.HavingClause)
	f.nodes(s.WindowClause)
	f.nodes(s.ValuesLists)
	f.nodes(s.SortClause)
	f.node(s.LimitOffset)
	f.node(s.LimitCount)
	f.nodes(s.LockingClause)
	f.with(s.WithClause)
	f.selectStmt(s.Larg)
	f.selectStmt(s.Rarg)
}

func (f *facts) insert(i *pg.InsertStmt) {
	f.watched = append(f.watched, i)
	f.relation(i.Relation)
	f.nodes(i.Cols)
	f.node(i.SelectStmt)
	if i.OnConflictClause != nil {
		f.visit(i.OnConflictClause.ProtoReflect(), f.schema)
	}
	f.nodes(i.ReturningList)
	f.with(i.WithClause)
}
