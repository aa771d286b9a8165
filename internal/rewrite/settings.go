package rewrite

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// variableSet reports SET / SET LOCAL / RESET / RESET ALL. PostgreSQL folds the setting name to
// lower case; so do we.
func (a *analyzer) variableSet(v *pg.VariableSetStmt) error {
	st := a.stmt
	st.Kind = StmtSet
	name := strings.ToLower(v.Name)
	switch v.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE:
		kind := SettingSet
		if v.IsLocal {
			kind = SettingSetLocal
		}
		st.Settings = append(st.Settings, SettingChange{Kind: kind, Name: name, Value: setValue(v.Args)})
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		if v.Kind == pg.VariableSetKind_VAR_RESET {
			st.Kind = StmtReset
		}
		if v.IsLocal {
			// SET LOCAL x TO DEFAULT: the reset value, but only until the transaction ends.
			st.Settings = append(st.Settings, SettingChange{Kind: SettingSetLocal, Name: name, Default: true})
			break
		}
		st.Settings = append(st.Settings, SettingChange{Kind: SettingReset, Name: name})
	case pg.VariableSetKind_VAR_RESET_ALL:
		st.Kind = StmtReset
		st.Settings = append(st.Settings, SettingChange{Kind: SettingResetAll})
	case pg.VariableSetKind_VAR_SET_CURRENT:
		st.Settings = append(st.Settings, SettingChange{Kind: SettingSet, Name: name, Dynamic: true})
	case pg.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION … / SET SESSION CHARACTERISTICS: not run-time settings we track.
	}
	return nil
}

// setValue renders SET's value list the way PostgreSQL stores it: list items joined by ", ".
func setValue(args []*pg.Node) string {
	parts := make([]string, 0, len(args))
	for _, n := range args {
		if k := n.GetAConst(); k != nil {
			if lit, ok := constText(k); ok {
				parts = append(parts, lit)
				continue
			}
		}
		if tc := n.GetTypeCast(); tc != nil {
			// SET TIME ZONE INTERVAL '…': keep the constant.
			if k := tc.Arg.GetAConst(); k != nil {
				if lit, ok := constText(k); ok {
					parts = append(parts, lit)
				}
			}
		}
	}
	return strings.Join(parts, ", ")
}

func constText(k *pg.A_Const) (string, bool) {
	switch {
	case k.GetSval() != nil:
		return k.GetSval().Sval, true
	case k.GetIval() != nil:
		return itoa(int(k.GetIval().Ival)), true
	case k.GetFval() != nil:
		return k.GetFval().Fval, true
	case k.GetBoolval() != nil:
		if k.GetBoolval().Boolval {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// settingsFromCalls reports set_config(name, value, is_local) calls found anywhere in the
// statement. The name must be a constant: a computed name could be any setting, the tenant one
// included, so it is refused.
func (a *analyzer) settingsFromCalls(calls []*pg.FuncCall) error {
	for _, f := range calls {
		loc := int(f.Location)
		if len(f.Args) != 3 {
			return unsupportedf(loc, "set_config with %d arguments is not supported", len(f.Args))
		}
		name, ok := stringConst(f.Args[0])
		if !ok {
			return unsupportedf(loc, "set_config with a setting name that is not a constant is not supported")
		}
		sc := SettingChange{Kind: SettingSet, Name: strings.ToLower(name)}
		switch value := unwrapCast(f.Args[1]); {
		case value.GetParamRef() != nil:
			sc.ValueParam = int(value.GetParamRef().Number)
		default:
			if v, ok := stringConst(f.Args[1]); ok {
				sc.Value = v
			} else if k := unwrapCast(f.Args[1]).GetAConst(); k != nil && k.Isnull {
				sc.Value = "" // set_config(x, NULL, …) sets the empty string
			} else {
				sc.Dynamic = true
			}
		}
		switch local := unwrapCast(f.Args[2]); {
		case local.GetParamRef() != nil:
			sc.LocalParam = int(local.GetParamRef().Number)
		default:
			b, ok := boolConst(local)
			if !ok {
				return unsupportedf(loc, "set_config with an is_local argument that is not a constant or parameter is not supported")
			}
			if b {
				sc.Kind = SettingSetLocal
			}
		}
		a.stmt.Settings = append(a.stmt.Settings, sc)
	}
	return nil
}

func unwrapCast(n *pg.Node) *pg.Node {
	for n.GetTypeCast() != nil {
		n = n.GetTypeCast().Arg
	}
	return n
}

// stringConst accepts a string (or number) constant, possibly cast (`'x'::text`).
func stringConst(n *pg.Node) (string, bool) {
	k := unwrapCast(n).GetAConst()
	if k == nil || k.Isnull {
		return "", false
	}
	return constText(k)
}

// boolConst parses a boolean constant the way PostgreSQL's boolin does (common spellings).
func boolConst(n *pg.Node) (bool, bool) {
	s, ok := stringConst(n)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "y", "yes", "on", "1":
		return true, true
	case "f", "false", "n", "no", "off", "0":
		return false, true
	}
	return false, false
}
