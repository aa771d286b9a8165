package wire

// Portals: the state's record of the portals the client bound (state.go), by name, the unnamed
// one apart from the map.

// bind records a Bind creating portal from stmt.
func (s *state) bind(portalName, stmtName string, plan Plan, refusal *ProxyError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if refusal == nil {
		s.setPortalLocked(portal{name: portalName, stmt: s.mu.statements[stmtName], plan: plan, seq: s.mu.seq + 1})
	} else {
		s.deletePortalLocked(portalName)
	}
	s.pushLocked(pending{kind: reqBind, plan: plan, refusal: refusal, portal: portalName})
}

// portalLocked looks a portal up by name.
func (s *state) portalLocked(name string) (portal, bool) {
	if name == "" {
		return s.mu.unnamed, s.mu.hasUnnamed
	}
	pt, ok := s.mu.portals[name]
	return pt, ok
}

func (s *state) setPortalLocked(pt portal) {
	if pt.name == "" {
		s.mu.unnamed, s.mu.hasUnnamed = pt, true
		return
	}
	s.mu.portals[pt.name] = pt
}

func (s *state) deletePortalLocked(name string) {
	if name == "" {
		s.mu.unnamed, s.mu.hasUnnamed = portal{}, false // the plan goes with it
		return
	}
	delete(s.mu.portals, name)
}

// portalPlan returns the plan of the Bind that made a portal.
func (s *state) portalPlan(name string) (Plan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pt, ok := s.portalLocked(name)
	if !ok {
		return nil, false
	}
	return pt.plan, true
}
