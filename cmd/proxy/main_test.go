package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"version prints the version", []string{"version"}, 0, "pgseal ", ""},
		{"no command is a usage error", nil, 2, "", "no command given"},
		{"an unknown command is a usage error", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"serve with an unknown flag is a usage error", []string{"serve", "--nope"}, 2, "", "flag provided but not defined"},
		{"serve with a missing config file says which", []string{"serve", "--config", "/nonexistent/proxy.toml"}, 1, "", "/nonexistent/proxy.toml"},
		{"serve with a stray argument is a usage error", []string{"serve", "extra"}, 2, "", `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(context.Background(), tt.args, &stdout, &stderr), &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("proxy %v = %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if tt.wantErr != "" && strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 && code != 2 {
				t.Fatalf("stderr %q is more than one line", stderr.String())
			}
		})
	}
}
