package seal

import "github.com/pgseal/pgseal/internal/wire"

// PlanEncrypts reports whether a Plan the interceptor attached to a Query or Parse makes pgseal
// encrypt or decrypt: a statement that touches an encrypted column, returns one, or copies one.
// Plans that only follow settings, transactions or prepared statements report false. `proxy
// check` (internal/check) uses it to tell "works with encryption" from "passes through".
func PlanEncrypts(p wire.Plan) bool {
	touches := func(se *stmtExec) bool {
		return se.st != nil && (se.st.Touches || len(se.outputs) > 0 || se.copy != nil)
	}
	switch p := p.(type) {
	case *queryPlan:
		for i := range p.stmts {
			if touches(&p.stmts[i]) {
				return true
			}
		}
	case *stmtPlan:
		return touches(&p.exec) || p.hide
	}
	return false
}
