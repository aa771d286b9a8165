package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The production binary must not link the testing package (it would, through internal/pgtest,
// if `proxy dev` used the test helpers instead of internal/pgtest/cluster), nor the test-only
// pgtest package itself.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, statErr := os.Stat(goTool); statErr != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("no go tool to list dependencies with: %v", err)
			}
			t.Skipf("no go tool to list dependencies with: %v", err)
		}
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "testing", "github.com/pgseal/pgseal/internal/pgtest":
			t.Errorf("cmd/proxy links %s; production code must use internal/pgtest/cluster", pkg)
		}
	}
}
