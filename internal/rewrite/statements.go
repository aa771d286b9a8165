package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// dispatch classifies a statement and runs the precise walk when it mentions an encrypted table.
// A statement that mentions none gets no edits and no parameter decisions: it is byte-identical.
func (a *analyzer) dispatch(n *pg.Node, mentions bool, pos int) error {
	st := a.stmt
	if mentions {
		a.likeContext(n)
	}
	kind, ok := rowsKind(n)
	if !ok {
		return a.otherStmt(n, mentions, pos)
	}
	st.Kind = kind
	d := n.GetDeclareCursorStmt()
	if d != nil {
		st.Cursor = d.Portalname
	}
	if !mentions {
		return nil
	}
	if d != nil {
		res, err := a.query(d.Query, nil, pos)
		if err != nil {
			return err
		}
		return a.outputs(res, pos)
	}
	res, err := a.query(n, nil, pos)
	if err != nil {
		return err
	}
	if err := a.finishLikes(n.GetSelectStmt(), res, pos); err != nil {
		return err
	}
	return a.outputs(res, pos)
}

// rowsKind is the kind of a statement whose rows dispatch walks: a query, DML or DECLARE (which
// also names its cursor); false for every other statement.
func rowsKind(n *pg.Node) (StmtKind, bool) {
	switch n.GetNode().(type) {
	case *pg.Node_SelectStmt:
		return StmtSelect, true
	case *pg.Node_InsertStmt:
		return StmtInsert, true
	case *pg.Node_UpdateStmt:
		return StmtUpdate, true
	case *pg.Node_DeleteStmt:
		return StmtDelete, true
	case *pg.Node_MergeStmt:
		return StmtMerge, true
	case *pg.Node_DeclareCursorStmt:
		return StmtDeclare, true
	}
	return 0, false
}

// otherStmt classifies the statements that are not queries, DML or DECLARE: settings, DISCARD,
// COPY, EXPLAIN, cursors, prepared statements, transaction control, DO, functions and the rest of
// the utility statements.
func (a *analyzer) otherStmt(n *pg.Node, mentions bool, pos int) error {
	st := a.stmt
	switch v := n.GetNode().(type) {
	case *pg.Node_VariableSetStmt:
		return a.variableSet(v.VariableSetStmt)
	case *pg.Node_DiscardStmt:
		st.Kind = StmtDiscard
		if v.DiscardStmt.Target == pg.DiscardMode_DISCARD_ALL {
			st.Settings = append(st.Settings, SettingChange{Kind: SettingDiscardAll})
			st.DeallocateAll = true
		}
		return nil
	case *pg.Node_CopyStmt:
		st.Kind = StmtCopy
		return a.copyStmt(v.CopyStmt, pos)
	case *pg.Node_ExplainStmt:
		st.Kind = StmtExplain
		noteExecute(st, v.ExplainStmt.Query) // EXPLAIN ANALYZE EXECUTE runs it
		if mentions {
			_, err := a.query(v.ExplainStmt.Query, nil, pos)
			return err
		}
		return nil
	case *pg.Node_FetchStmt:
		st.Kind = StmtFetch
		st.Cursor = v.FetchStmt.Portalname
		return nil
	case *pg.Node_ClosePortalStmt:
		st.Kind = StmtClose
		st.Cursor = v.ClosePortalStmt.Portalname
		return nil
	case *pg.Node_PrepareStmt, *pg.Node_ExecuteStmt, *pg.Node_DeallocateStmt:
		return a.preparedStmt(n, mentions, pos)
	case *pg.Node_TransactionStmt:
		st.Kind = StmtTransaction
		st.Tx = txKind(v.TransactionStmt.Kind)
		return nil
	case *pg.Node_DoStmt:
		st.Kind = StmtDDL
		return a.doStmt(v.DoStmt, pos)
	case *pg.Node_CreateFunctionStmt:
		if err := a.createFunction(v.CreateFunctionStmt, pos); err != nil {
			return err
		}
	}
	return a.utility(n, mentions, pos)
}

// harmlessUtility lists statements that may name an encrypted table but carry no values of its
// columns and return none.
func harmlessUtility(n *pg.Node) bool {
	switch n.GetNode().(type) {
	case *pg.Node_TruncateStmt, *pg.Node_LockStmt, *pg.Node_VacuumStmt, *pg.Node_GrantStmt,
		*pg.Node_DropStmt, *pg.Node_CommentStmt:
		return true
	}
	return false
}

// utility handles every other statement: DDL passes through unless it names an encrypted table
// in a way that could carry or return values of its columns.
func (a *analyzer) utility(n *pg.Node, mentions bool, pos int) error {
	a.stmt.Kind = StmtDDL
	if c := n.GetCreateTableAsStmt(); c != nil {
		noteExecute(a.stmt, c.Query) // CREATE TABLE … AS EXECUTE
	}
	if !mentions || harmlessUtility(n) {
		return nil
	}
	if ix := n.GetIndexStmt(); ix != nil {
		return a.indexStmt(ix, pos)
	}
	return unsupportedf(pos, "%s on an encrypted table is not supported through pgseal; run it directly against PostgreSQL", nodeName(n))
}

// noteExecute records an EXECUTE nested in another statement.
func noteExecute(st *Statement, n *pg.Node) {
	if x := n.GetExecuteStmt(); x != nil {
		st.ExecuteName, st.ExecuteArgs = x.Name, len(x.Params) > 0
	}
}

// outputs turns a statement's result shape into Outputs.
func (a *analyzer) outputs(res *result, pos int) error {
	if res == nil {
		return nil
	}
	for i, c := range res.cols {
		if c.unknownWidth {
			for _, later := range res.cols[i+1:] {
				if later.col != nil {
					return unsupported(later.col, "a result after * of a table whose columns pgseal does not know", pos)
				}
			}
			return nil
		}
		if c.col != nil {
			a.stmt.Outputs = append(a.stmt.Outputs, Output{Position: i, Column: c.col})
			a.stmt.Touches = true
		}
	}
	return nil
}

func txKind(k pg.TransactionStmtKind) string {
	switch k {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		return "begin"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return "commit"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return "rollback"
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return "savepoint"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "release"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return "rollback_to"
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		return "prepare"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return "commit_prepared"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "rollback_prepared"
	}
	return "other"
}

// nodeName names a node type for messages: "CreateTableAsStmt".
func nodeName(n *pg.Node) string {
	if n == nil || n.GetNode() == nil {
		return "statement"
	}
	m := n.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("node"))
	if fd == nil {
		return "statement"
	}
	return string(fd.Message().Name())
}

// nodeLoc returns the location of n's node when it has one, else fallback.
func nodeLoc(n *pg.Node, fallback int) int {
	if n == nil || n.GetNode() == nil {
		return fallback
	}
	m := n.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("node")
	fd := m.WhichOneof(od)
	if fd == nil {
		return fallback
	}
	inner := m.Get(fd).Message()
	lf := inner.Descriptor().Fields().ByName("location")
	if lf == nil {
		return fallback
	}
	if l := int(inner.Get(lf).Int()); l >= 0 {
		return l
	}
	return fallback
}
