package rewrite

import (
	pg "github.com/pganalyze/pg_query_go/v5"
)

// preparedStmt reports SQL PREPARE, EXECUTE and DEALLOCATE for the wire, which follows the
// session's prepared statements (doc.go, "Prepared statements"). EXECUTE inside EXPLAIN or
// CREATE TABLE … AS is reported by statement from the collected facts.
func (a *analyzer) preparedStmt(n *pg.Node, mentions bool, pos int) error {
	st := a.stmt
	switch v := n.GetNode().(type) {
	case *pg.Node_PrepareStmt:
		st.Kind = StmtPrepare
		if mentions {
			return unsupportedf(pos, "PREPARE of a statement on an encrypted table is not supported; use the extended protocol")
		}
		st.PrepareName = v.PrepareStmt.Name
	case *pg.Node_ExecuteStmt:
		st.Kind = StmtExecute
		if mentions {
			// The arguments are expressions evaluated here, e.g. a subquery on an encrypted table.
			return a.exprs(v.ExecuteStmt.Params, newScope(nil), "an EXECUTE argument", pos)
		}
	case *pg.Node_DeallocateStmt:
		st.Kind = StmtDeallocate
		st.DeallocateName = v.DeallocateStmt.Name
		st.DeallocateAll = v.DeallocateStmt.Name == "" // DEALLOCATE ALL has no name
	}
	return nil
}

// preparedFacts adjusts the collected facts of a statement for prepared statements: $N in
// PREPARE … AS belong to the prepared statement, not to this protocol message, and a set_config
// inside would change a setting later, at an EXECUTE the wire cannot follow. An EXECUTE anywhere
// (also inside EXPLAIN or CREATE TABLE … AS) is reported.
func (a *analyzer) preparedFacts(n *pg.Node, f *facts, pos int) error {
	if n.GetPrepareStmt() != nil {
		if len(f.setConfigs) > 0 {
			return unsupportedf(pos, "PREPARE of a statement calling set_config is not supported")
		}
		f.maxParam = 0
	}
	if e := f.execute; e != nil {
		a.stmt.ExecuteName, a.stmt.ExecuteArgs = e.Name, len(e.Params) > 0
	}
	return nil
}
