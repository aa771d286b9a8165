package tenancy

import (
	"errors"
	"testing"
)

func TestSelection(t *testing.T) {
	multi := Policy{Setting: "app.tenant", Mode: ModeMulti}
	single := Policy{Setting: "app.tenant", Mode: ModeSingle}
	tests := []struct {
		name    string
		p       Policy
		set     map[string]string
		want    string
		wantErr error
	}{
		{"multi mode with nothing set selects no keyset", multi, nil, "", ErrNoKeyset},
		{"single mode with nothing set selects the default keyset", single, nil, "default", nil},
		{"the tenant setting names the keyset", multi, map[string]string{"app.tenant": "acme"}, "acme", nil},
		{"pgseal.keyset wins over the tenant setting", multi, map[string]string{"app.tenant": "acme", "pgseal.keyset": "other"}, "other", nil},
		{"an empty tenant counts as unset", multi, map[string]string{"app.tenant": ""}, "", ErrNoKeyset},
		{"setting names are case-insensitive", multi, map[string]string{"APP.Tenant": "acme"}, "acme", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(nil)
			for k, v := range tt.set {
				g.Set(k, v)
			}
			got, err := tt.p.Selection(g)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Selection() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if !multi.Tracks("App.Tenant") || !multi.Tracks("pgseal.keyset") || multi.Tracks("search_path") {
		t.Fatal("Tracks() does not pick out exactly the tenant setting and pgseal.keyset")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	g := New(nil)
	g.Begin()
	g.Set("app.tenant", "a")
	g.Savepoint("s")
	c := g.Clone()
	c.Set("app.tenant", "b")
	c.RollbackTo("s")
	if v, _ := g.Get("app.tenant"); v != "a" {
		t.Fatalf("original after changing the clone = %q, want a", v)
	}
	if v, _ := c.Get("app.tenant"); v != "a" {
		t.Fatalf("clone after ROLLBACK TO = %q, want a", v)
	}
}
